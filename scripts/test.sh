#!/usr/bin/env bash
# Checks the floors' imports and runs the whole test suite, after installing what it needs (Debian's redis-server, postgresql
# and chromium when root). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --with-test-services
# The four floors (docs/architecture.md): an import that runs up a floor fails here, before any test.
.venv/bin/lint-imports
exec .venv/bin/python -m pytest "$@"
