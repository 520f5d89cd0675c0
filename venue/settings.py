"""Plenum's one settings module: everything that differs between machines comes from the environment.

With nothing set, Plenum runs embedded: SQLite and the in-memory channel layer in one daphne
process. `DATABASE_URL` (PostgreSQL) and `REDIS_URL` (channels-redis) switch to the scale topology.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("PLENUM_VAR_DIR", BASE_DIR / "var"))


def env_bool(name, default=False):
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name, default):
    value = os.environ.get(name)
    if not value:
        return default
    return [part.strip() for part in value.split(",") if part.strip()]


DEBUG = env_bool("DEBUG", False)
# The embedded demo's key is in this public repository: it signs sessions only where nobody else
# can reach the server. Anything that looks like a deployment (a database or Redis of its own,
# its own host names, TLS) must set SECRET_KEY, or Plenum refuses to start.
DEMO_SECRET_KEY = "plenum-embedded-demo-key-change-me-in-any-deployment"
SECRET_KEY = os.environ.get("SECRET_KEY", "") or DEMO_SECRET_KEY
DEPLOYED = any(os.environ.get(name) for name in ("DATABASE_URL", "REDIS_URL", "ALLOWED_HOSTS")) or env_bool("PLENUM_HTTPS")
if SECRET_KEY == DEMO_SECRET_KEY and DEPLOYED and not DEBUG:
    raise ImproperlyConfigured(
        "SECRET_KEY is not set: the demo's key is public. Set SECRET_KEY to a long random string, "
        "e.g. the output of `openssl rand -hex 32`."
    )
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# Served over TLS (by a proxy in front, which sets X-Forwarded-Proto: https): cookies only
# over TLS, HSTS, and http:// redirected. docs/operations.md.
PLENUM_HTTPS = env_bool("PLENUM_HTTPS", False)
if PLENUM_HTTPS:
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    # Probes from inside the deployment speak plain HTTP to the process itself.
    SECURE_REDIRECT_EXEMPT = [r"^healthz/?$", r"^readyz/?$", r"^metrics/?$"]
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", str(365 * 24 * 3600)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Scripts only from our own static files: no inline script, no eval (htmx is told so in
# base.html), so an injected <script> or on…= attribute does nothing. Inline style attributes
# stay allowed (poll bars set their width with one). WebSockets to the page's own origin are
# 'self' in CSP 3; uploads and slides are images from 'self'; camera tiles are MediaStreams.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "media-src": ["'self'", "blob:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "django_htmx",
    "venue",
    "agenda",
    "rooms",
    "frontend",
]

MIDDLEWARE = [
    # /healthz, /readyz and /metrics, before the host check: probes use the process's own address.
    "frontend.health.Probes",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "venue.urls"
ASGI_APPLICATION = "venue.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{VAR_DIR / 'plenum.sqlite3'}",
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "0")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # channels closes "old" connections around every database call: with CONN_MAX_AGE=0 each call
    # of a join storm opened SQLite anew (about a third of a connect's cost). A file needs no
    # reconnecting: keep it open unless told otherwise.
    if "CONN_MAX_AGE" not in os.environ:
        DATABASES["default"]["CONN_MAX_AGE"] = None
    # Several daphne threads write at once during a join storm; wait for the lock instead of failing.
    # synchronous=NORMAL: in WAL mode a commit is written before it returns (a killed process loses
    # nothing) but synced to disk at checkpoints, not each time; FULL cost 2-3 ms of fsync per
    # commit on the one database thread, a join storm's every connect.
    DATABASES["default"].setdefault("OPTIONS", {}).update({
        "timeout": 20, "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    })
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env_bool("PLENUM_PG_PREPARED", True):
    # Parameters bound by the server let psycopg prepare a statement once it has run a few times
    # on a connection: a join storm runs the same few statements thousands of times, and parsing
    # and planning each one anew was most of what PostgreSQL spent on a connect. (Behind a
    # pooler in transaction mode, set PLENUM_PG_PREPARED=0.)
    DATABASES["default"].setdefault("OPTIONS", {}).update({"server_side_binding": True, "prepare_threshold": 5})
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "venue.layers.RedisChannelLayer",
            "CONFIG": {
                # redis-py 8 reads with a 5 s socket timeout, no longer than channels-redis'
                # own 5 s blocking pop, and caps a pool at 100 connections: an idle socket would
                # die of a client-side timeout and a join storm would run out of connections.
                # Options given in REDIS_URL itself still win over these.
                # A restarted Redis leaves every pooled connection dead; redis-py's asyncio
                # client retries nothing by default, so the first command on each would fail.
                "hosts": [{
                    "address": REDIS_URL, "socket_timeout": 30, "max_connections": 10_000,
                    "retry": Retry(ExponentialWithJitterBackoff(cap=1, base=0.05), 3),
                }],
                # A process that dies stops being a group member after this many seconds,
                # because live processes refresh their memberships well within it.
                "group_expiry": 120,
                "capacity": 5000,
                "expiry": 30,
            },
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "venue.layers.InMemoryChannelLayer",
            "CONFIG": {"group_expiry": 120, "capacity": 5000, "expiry": 30},
        }
    }

# How a broadcast reaches sockets: "process" (one channel-layer message per daphne process,
# written locally to each socket) is the design; "socket" (one group member per socket) exists
# only so that the benchmark can measure the difference side by side.
PLENUM_FANOUT = os.environ.get("PLENUM_FANOUT", "process")
# How often a process renews its channel-layer group memberships (well within group_expiry).
PLENUM_PROCESS_REFRESH_SECONDS = float(os.environ.get("PLENUM_PROCESS_REFRESH_SECONDS", "30"))
# How often each process asks Redis for its run id: a new one means Redis restarted and forgot
# every group membership (venue/fanout.py, Hub._watch).
PLENUM_LAYER_WATCH_SECONDS = float(os.environ.get("PLENUM_LAYER_WATCH_SECONDS", "1"))
# How often a process writes its heartbeat (rooms.Process); three missed beats and the others
# count its sockets as gone and close them as of its last beat (rooms.presence.reap).
PLENUM_HEARTBEAT_SECONDS = float(os.environ.get("PLENUM_HEARTBEAT_SECONDS", "10"))
# A reconnect within this many seconds counts as staying, in the attendance page and its files
# (a page reload, a train through a tunnel).
PLENUM_ATTENDANCE_GRACE_SECONDS = float(os.environ.get("PLENUM_ATTENDANCE_GRACE_SECONDS", "60"))
# All certificates as a ZIP: rendered in this many processes (WeasyPrint uses one core each) once
# there are at least PLENUM_CERTIFICATE_PARALLEL_FROM of them (starting a process costs a second).
PLENUM_CERTIFICATE_PROCESSES = int(os.environ.get("PLENUM_CERTIFICATE_PROCESSES", str(os.cpu_count() or 1)))
PLENUM_CERTIFICATE_PARALLEL_FROM = int(os.environ.get("PLENUM_CERTIFICATE_PARALLEL_FROM", "100"))

# Where the SFU (rooms/media/) runs: "inprocess" in the daphne process that holds the socket
# (one process: the embedded topology), or "worker" in the `manage.py plenum_media_worker`
# processes that every daphne process relays media commands to (several daphne processes, which
# needs REDIS_URL). docs/media.md, "Where the SFU runs".
PLENUM_MEDIA = os.environ.get("PLENUM_MEDIA", "inprocess")
if PLENUM_MEDIA not in ("inprocess", "worker"):
    raise ValueError(f"PLENUM_MEDIA must be 'inprocess' or 'worker', not {PLENUM_MEDIA!r}")
# How many media workers share the rooms in worker mode, each with its own index (0, 1, ...);
# the same number in every daphne process and every worker. Forums and tables live in one
# worker each (rooms take turns by id).
PLENUM_MEDIA_WORKERS = int(os.environ.get("PLENUM_MEDIA_WORKERS", "1"))
if PLENUM_MEDIA_WORKERS < 1:
    raise ValueError(f"PLENUM_MEDIA_WORKERS must be at least 1, not {PLENUM_MEDIA_WORKERS}")
# Which rooms span every worker (docs/media.md, "A room over several workers"): "plenary" puts
# each new viewer of the plenary on the least loaded worker, and the stage's tracks cross between
# the workers once each; "none" keeps every room in one worker (to compare, in the benchmark).
PLENUM_MEDIA_SPREAD = os.environ.get("PLENUM_MEDIA_SPREAD", "plenary")
if PLENUM_MEDIA_SPREAD not in ("plenary", "none"):
    raise ValueError(f"PLENUM_MEDIA_SPREAD must be 'plenary' or 'none', not {PLENUM_MEDIA_SPREAD!r}")
# How often a media worker tells the others (through Redis) how loaded it is and that it lives;
# one that has not said so for three times this long counts as gone.
PLENUM_MEDIA_LOAD_SECONDS = float(os.environ.get("PLENUM_MEDIA_LOAD_SECONDS", "1"))

# Mail (the personal links of venue.invitations): SMTP when EMAIL_HOST is set, otherwise the
# console (the demo prints each mail to the log).
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "587" if env_bool("EMAIL_USE_TLS") else "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS")
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL")
EMAIL_TIMEOUT = float(os.environ.get("EMAIL_TIMEOUT", "20"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "plenum@localhost")

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "de"
# German first: the conference's own language. The others are chosen by the browser's
# Accept-Language or the switch on every page; Arabic is written right to left.
LANGUAGES = [
    ("de", _("German")),
    ("en", _("English")),
    ("tr", _("Turkish")),
    ("ar", _("Arabic")),
    ("uk", _("Ukrainian")),
    ("ru", _("Russian")),
]
LOCALE_PATHS = [BASE_DIR / "frontend" / "locale"]
TIME_ZONE = "Europe/Berlin"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
PLENUM_SERVE_STATIC = env_bool("PLENUM_SERVE_STATIC", True)
MEDIA_URL = "uploads/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "uploads"))

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# How many sockets one process lets join at once; the next wait their turn, and those who would
# wait longer than PLENUM_JOIN_MAX_WAIT_SECONDS are told to come back later (frontend/admission.py).
# Keep the wait well below daphne's --websocket_connect_timeout. Sockets already in are never affected.
PLENUM_JOIN_CONCURRENCY = int(os.environ.get("PLENUM_JOIN_CONCURRENCY", "32"))
PLENUM_JOIN_MAX_WAIT_SECONDS = float(os.environ.get("PLENUM_JOIN_MAX_WAIT_SECONDS", "15"))
# Joins per second a process is assumed to finish before it has measured its own rate (about
# 300 per daphne process here, docs/benchmarks.md); a storm's first sockets are queued or told
# to come back by it. Too high, and the last queued wait past daphne's handshake timeout.
PLENUM_JOIN_ASSUMED_RATE = float(os.environ.get("PLENUM_JOIN_ASSUMED_RATE", "200"))
# The garbage collector's thresholds in a daphne process (venue/asgi.py; Python's are 700, 10, 10).
PLENUM_GC_THRESHOLDS = tuple(int(n) for n in os.environ.get("PLENUM_GC_THRESHOLDS", "10000,20,20").split(","))
# The bearer token /metrics wants (frontend/health.py); without one, /metrics answers nobody.
PLENUM_METRICS_TOKEN = os.environ.get("PLENUM_METRICS_TOKEN", "")

# Upper bound for one WebSocket text frame from a client; larger frames get an error reply.
PLENUM_MAX_MESSAGE_BYTES = 8 * 1024
# How many sockets (pages, tabs) one person may have open at once, in every process together.
PLENUM_MAX_SOCKETS_PER_PERSON = int(os.environ.get("PLENUM_MAX_SOCKETS_PER_PERSON", "5"))
# What Plenum's daphne (venue/server.py) lets through to the consumer: a frame up to this size
# reaches it and gets the `message_too_large` error; a larger one closes the socket (1009).
PLENUM_WS_MAX_FRAME_BYTES = 4 * 1024 * 1024
# The largest request body venue/server.py accepts (an upload of 10 MB and its form around it);
# anything larger is refused with 413 before it is stored, whoever sends it.
PLENUM_MAX_REQUEST_BYTES = int(os.environ.get("PLENUM_MAX_REQUEST_BYTES", str(11 * 1024 * 1024)))

# ICE servers handed to browsers and to the SFU; empty works on loopback and a LAN.
# On the internet: PLENUM_STUN_URLS=stun:turn.example.org:3478 and a TURN server (coturn) with
# PLENUM_TURN_URLS=turn:turn.example.org:3478?transport=udp,turns:turn.example.org:5349?transport=tcp
# PLENUM_TURN_USERNAME / PLENUM_TURN_PASSWORD (docs/media.md).
PLENUM_ICE_SERVERS = [
    {"urls": url} for url in env_list("PLENUM_STUN_URLS", [])
]
if env_list("PLENUM_TURN_URLS", []):
    PLENUM_ICE_SERVERS.append({
        "urls": env_list("PLENUM_TURN_URLS", []),
        "username": os.environ.get("PLENUM_TURN_USERNAME", ""),
        "credential": os.environ.get("PLENUM_TURN_PASSWORD", ""),
    })

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_tokens": {"()": "venue.logs.RedactTokens"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["redact_tokens"]}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
    # WeasyPrint warns of every screen-only CSS property it skips when printing to PDF.
    "loggers": {"weasyprint": {"level": "ERROR"}, "fontTools": {"level": "ERROR"}},
}
