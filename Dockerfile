# Plenum's image: the pinned dependencies from pyproject.toml and the source tree in /app.
# One image serves every role in docker-compose.yml (web processes, the one-shot migrate step).
FROM python:3.11-slim-bookworm

# PYTHONPATH: the source tree in /app is what runs (templates, static files and catalogues live
# in frontend/ and also travel in the wheel as package data).
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app \
    PLENUM_VAR_DIR=/var/lib/plenum

RUN useradd --system --uid 1000 --home-dir /app --shell /usr/sbin/nologin plenum \
    && mkdir -p /var/lib/plenum/static /var/lib/plenum/uploads \
    && chown -R plenum /var/lib/plenum

WORKDIR /app

# The dependencies first, from pyproject.toml alone: its package list matches nothing yet, so
# this installs the pins only, and a change to the code does not reinstall them.
COPY pyproject.toml ./
RUN pip install .

# Named one by one so that a local .venv or var/ never lands in the image.
COPY manage.py ./
COPY venue ./venue
COPY agenda ./agenda
COPY rooms ./rooms
COPY frontend ./frontend
RUN pip install --no-deps .

USER plenum
EXPOSE 8000
# docker-compose.yml runs this behind a proxy; --proxy-headers takes the client address from it.
CMD ["python", "-m", "venue.server", "-b", "0.0.0.0", "-p", "8000", "--proxy-headers", "venue.asgi:application"]
