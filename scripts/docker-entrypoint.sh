#!/usr/bin/env bash
# Entrypoint of the billing service image (see Dockerfile and docker-compose.yml).
#
#   web     wait for PostgreSQL, migrate every schema, refresh the tenant template schema, collect
#           static files into the shared volume nginx serves, then run gunicorn
#           (config/gunicorn.conf.py: :8000, WEB_CONCURRENCY workers)
#   worker  celery worker
#   beat    celery beat (the scheduler is settings.CELERY_BEAT_SCHEDULER, tenant-aware)
#   *       exec'ed as is (e.g. `python manage.py shell`, or the image's default gunicorn CMD)
set -euo pipefail

cd /app 2>/dev/null || true

wait_for_database() {
    # Connects with the parameters Django itself derives from DATABASE_URL.
    local timeout="${DB_WAIT_TIMEOUT:-60}"
    python - "$timeout" <<'PY'
import os
import sys
import time

import psycopg

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "billing_project.settings")
from django.conf import settings  # noqa: E402  (settings only; no app loading)

db = settings.DATABASES["default"]
params = {
    "dbname": db.get("NAME"), "user": db.get("USER"), "password": db.get("PASSWORD"),
    "host": db.get("HOST"), "port": db.get("PORT"), "connect_timeout": 3,
}
params = {key: value for key, value in params.items() if value not in (None, "")}
deadline = time.monotonic() + float(sys.argv[1])
while True:
    try:
        with psycopg.connect(**params) as conn:
            conn.execute("SELECT 1")
        print(f"database {params.get('host', 'localhost')}:{params.get('port', 5432)} is ready", flush=True)
        break
    except psycopg.OperationalError as exc:
        if time.monotonic() > deadline:
            print(f"database not reachable after {sys.argv[1]}s: {exc}", file=sys.stderr, flush=True)
            sys.exit(1)
        print("waiting for the database...", flush=True)
        time.sleep(2)
PY
}

case "${1:-}" in
    web)
        shift
        wait_for_database
        # Replicas (`--scale web=3`) migrate one at a time; the later ones find nothing to do.
        # Behind PgBouncer (docker-compose.pgbouncer.yml) on PostgreSQL itself: a session advisory
        # lock and a whole schema's migration do not survive transaction pooling.
        DATABASE_URL="${MIGRATION_DATABASE_URL:-$DATABASE_URL}" DB_TRANSACTION_POOLING=0 \
            python scripts/with_advisory_lock.py migrations -- python manage.py migrate_schemas --executor=parallel --noinput
        DATABASE_URL="${MIGRATION_DATABASE_URL:-$DATABASE_URL}" DB_TRANSACTION_POOLING=0 \
            python scripts/with_advisory_lock.py migrations -- python manage.py ensure_tenant_template
        # The image holds the collected files; this refreshes the static volume after an upgrade.
        python manage.py collectstatic --noinput --verbosity 0
        # Bind, WEB_CONCURRENCY workers and PROMETHEUS_MULTIPROC_DIR (emptied by the master on
        # start, so the collectstatic and migrate runs above leave nothing in it): see the config.
        exec gunicorn --config config/gunicorn.conf.py "$@"
        ;;
    worker)
        shift
        exec celery -A billing_project worker -l info "$@"
        ;;
    beat)
        shift
        exec celery -A billing_project beat -l info "$@"
        ;;
    *)
        exec "$@"
        ;;
esac
