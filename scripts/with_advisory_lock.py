#!/usr/bin/env python
"""Run a command while holding a PostgreSQL advisory lock, so that replicas starting together take
turns: `docker compose up --scale web=3` starts three web containers whose entrypoints all migrate.

    python scripts/with_advisory_lock.py migrations -- python manage.py migrate_schemas --noinput

The first replica migrates; the others wait for the lock, then find every schema up to date (a
no-op). The lock is a session lock on a direct connection (DATABASE_URL, as Django reads it) and
ends with that connection, also when this process dies. Exit code: the command's.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zlib
from typing import Any


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        print(__doc__, file=sys.stderr)
        return 2
    name, command = argv[0], argv[2:]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "billing_project.settings")
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import psycopg
    from django.conf import settings

    db = settings.DATABASES["default"]
    params: dict[str, Any] = {
        "dbname": db.get("NAME"),
        "user": db.get("USER"),
        "password": db.get("PASSWORD"),
        "host": db.get("HOST"),
        "port": db.get("PORT"),
    }
    key = zlib.crc32(f"billing:{name}".encode())  # a stable 32-bit key per name
    with psycopg.connect(**{k: v for k, v in params.items() if v}, autocommit=True) as conn:
        print(f"waiting for the {name} lock", flush=True)
        conn.execute("SELECT pg_advisory_lock(%s)", [key])
        try:
            return subprocess.run(command).returncode
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", [key])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
