"""GET /health: database and Redis (critical: 503 when either fails) and Stripe (reported)."""

from typing import Any

import psycopg
from django.conf import settings
from django.http import JsonResponse

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
