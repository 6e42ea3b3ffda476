#!/usr/bin/env bash
# Quick install: what `make run` sets up (venv, packages, database, migrations, demo data),
# without starting the processes. Afterwards: `make run`.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v python3 >/dev/null || { echo "Python 3.11+ is required" >&2; exit 1; }
python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' \
  || { echo "Python 3.11+ is required (found $(python3 --version))" >&2; exit 1; }
make setup
echo "Ready. Start everything with: make run"
