#!/usr/bin/env bash
# Runs the whole test suite, after installing what it needs (Debian's redis-server, postgresql
# and chromium when root). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --with-test-services
exec .venv/bin/python -m pytest "$@"
