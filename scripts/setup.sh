#!/usr/bin/env bash
# Installs what Plenum needs on a fresh machine: Debian packages (when root), a virtualenv and
# the pinned Python packages from pyproject.toml. Safe to run again; it only does what is missing.
# Usage: scripts/setup.sh [--with-test-services]
set -euo pipefail
cd "$(dirname "$0")/.."

want_services=0
[ "${1:-}" = "--with-test-services" ] && want_services=1

# pango: WeasyPrint renders the certificates and the documentation as PDF.
apt_packages=(python3-venv gettext libpango-1.0-0 libpangoft2-1.0-0)
if [ "$want_services" = 1 ]; then
  apt_packages+=(redis-server postgresql chromium fonts-dejavu-core fonts-noto-color-emoji)
fi

missing=()
for pkg in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "Installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "Missing Debian packages (install them as root): ${missing[*]}" >&2
    # python3-venv may be absent while venv still works (pyenv Pythons); the rest are needed.
    if [ "$want_services" = 1 ]; then exit 1; fi
  fi
fi

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
stamp=.venv/.plenum-installed
want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  .venv/bin/pip install -q --upgrade pip >/dev/null
  .venv/bin/pip install -q -e '.[test]'
  echo "$want" > "$stamp"
fi
