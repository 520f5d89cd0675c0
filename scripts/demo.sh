#!/usr/bin/env bash
# Runs the demo conference on one machine: SQLite, the in-memory channel layer, one daphne process.
# Usage: scripts/demo.sh [port]   (environment: PLENUM_HOST, default 127.0.0.1)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
port=${1:-8000}
host=${PLENUM_HOST:-127.0.0.1}
.venv/bin/python manage.py migrate --noinput -v0
.venv/bin/python manage.py plenum_demo --base-url "http://$host:$port"
echo "Serving on http://$host:$port (Ctrl-C stops)"
exec .venv/bin/python -m venue.server -b "$host" -p "$port" venue.asgi:application
