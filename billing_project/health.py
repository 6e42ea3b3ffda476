"""GET /health: database and Redis (critical: 503 when either fails) and Stripe (reported).
GET /health/live and /health/ready: the probes of an orchestrator (Kubernetes, compose healthchecks)."""

from typing import Any

import psycopg
from django.conf import settings
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.http import JsonResponse
from django_tenants.utils import get_public_schema_name, schema_context, schema_exists

from billing_project.redis import get_redis
from billing_project.stripe_gateway import client as stripe_client


def check_database() -> str:
    # A fresh short-lived connection: it answers "is the database reachable now", independent of
    # whatever state Django's persistent connection is in.
    db = settings.DATABASES["default"]
    params: dict[str, Any] = {
        "dbname": db["NAME"],
        "user": db.get("USER") or None,
        "password": db.get("PASSWORD") or None,
        "host": db.get("HOST") or None,
        "port": db.get("PORT") or None,
        "connect_timeout": 2,
    }
    try:
        with psycopg.connect(**{k: v for k, v in params.items() if v is not None}) as conn:
            conn.execute("SELECT 1")
        return "ok"
    except Exception as exc:
        return f"error: {type(exc).__name__}"


def check_redis() -> str:
    try:
        get_redis().ping()
        return "ok"
    except Exception as exc:
        return f"error: {type(exc).__name__}"


def health(request):
    checks = {
        "database": check_database(),
        "redis": check_redis(),
        "stripe": stripe_client.account_check(),
    }
    critical_ok = checks["database"] == "ok" and checks["redis"] == "ok"
    stripe_ok = checks["stripe"] in ("ok", "not_configured")
    status = "ok" if critical_ok and stripe_ok else ("degraded" if critical_ok else "error")
    return JsonResponse({"status": status, "checks": checks}, status=200 if critical_ok else 503)


# --- orchestrators (issue 20): liveness and readiness probes ---------------------------------------

# Pending migrations only ever decrease while a process runs (new migrations come with new code, so
# with a new process): once none are pending, readiness no longer loads the migration graph.
_migrations_done = False


def _schemas_to_migrate() -> list[str]:
    """public (migrate_schemas' shared pass, recording every app's migrations) and the template that
    new tenants are cloned from (refreshed last by `ensure_tenant_template`), when it exists."""
    schemas = [get_public_schema_name()]
    template = getattr(settings, "TENANT_BASE_SCHEMA", None)
    if template and schema_exists(template):
        schemas.append(template)
    return schemas


def pending_migrations() -> int:
    """How many migrations are not applied yet in public and in the tenant template schema."""
    global _migrations_done
    if _migrations_done:
        return 0
    pending = 0
    for schema in _schemas_to_migrate():
        with schema_context(schema):
            executor = MigrationExecutor(connection)
            pending += len(executor.migration_plan(executor.loader.graph.leaf_nodes()))
    _migrations_done = pending == 0
    return pending


def live(request):
    """GET /health/live: the process answers. No dependency is asked: an orchestrator restarts a
    process that fails this, and restarting web nodes cures no database outage."""
    return JsonResponse({"status": "ok"})


def ready(request):
    """GET /health/ready: send traffic here? 503 while the database or Redis is unreachable or
    migrations are still pending (a new release whose `migrate_schemas` has not finished)."""
    checks = {"database": check_database(), "redis": check_redis()}
    if checks["database"] == "ok":
        try:
            pending = pending_migrations()
            checks["migrations"] = "ok" if pending == 0 else f"error: {pending} pending"
        except Exception as exc:  # the database went away meanwhile, or a broken migration file
            checks["migrations"] = f"error: {type(exc).__name__}"
    else:
        checks["migrations"] = "unknown"
    ok = all(value == "ok" for value in checks.values())
    return JsonResponse(
        {"status": "ok" if ok else "error", "checks": checks}, status=200 if ok else 503
    )
