#!/usr/bin/env bash
# Quick install: what `make run` sets up (venv, packages, database, migrations, demo data),
# without starting the processes. Afterwards: `make run`.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v python3 >/dev/null || { echo "Python 3.11+ is required" >&2; exit 1; }
python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' \
  || { echo "Python 3.11+ is required (found $(python3 --version))" >&2; exit 1; }
make setup
# The portal's browser tests drive Debian's Chromium; install it where we can (root with apt).
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium) >/dev/null \
    || echo "could not install chromium; the browser tests will be skipped"
fi
echo "Ready. Start everything with: make run"
