#!/usr/bin/env python
"""Finance analytics at scale: the admin's Finance overview and the analytics API over 10,000
tenants with 24 months of history.

    python bench/analytics.py [--tenants 10000] [--months 24] [--requests 30] [--keep]

Uses its own database (`billing_bench_analytics` on DATABASE_URL's server, or on 127.0.0.1:5432, or
an embedded PostgreSQL) with the public schema migrated, and generates the facts directly (seeded
random, reproducible): per tenant a subscription starting in a random month, upgrades, downgrades,
trials, churn and returns as MRR movements in two currencies, one invoice a month (some paid late or
open, for the receivables ageing) and a few refunds. Then it times, in this process through
Django's test client (the whole request: middleware, authentication, queries, rendering), the
overview page over the 24 months and each API call (/analytics/mrr, movements, churn, receivables),
and prints p50/p95 of each. Goal (issue 18): p95 < 300 ms on the 2-core machine. Asserts nothing.
"""

import argparse
import os
import random
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.dev import Services  # noqa: E402

DB_NAME = "billing_bench_analytics"
PLANS = {"usd": [2900, 9900, 29900], "eur": [2500, 8900, 26900]}


def _month_add(day: date, months: int) -> date:
    month = day.month - 1 + months
    return date(day.year + month // 12, month % 12 + 1, 1)


def generate(tenants: int, months: int, seed: int = 18) -> tuple[int, int]:
    """Bulk-insert tenants (no schemas: the facts live in public) and their facts."""
    from analytics.models import InvoiceFact, MrrMovement, RefundFact, SubscriptionFact
    from tenants.models import Tenant

    rng = random.Random(seed)
    first = _month_add(date.today().replace(day=1), -months)
    rows = [
        Tenant(
            name=f"Bench {i}",
            slug=f"bench-{i:05d}",
            email=f"b{i}@bench.test",
            schema_name=f"bench_{i:05d}",
        )
        for i in range(tenants)
    ]
    Tenant.objects.bulk_create(rows, batch_size=2000)
    moves, invoices, refunds, facts = [], [], [], []

    def move(tenant, day, currency, kind, before, after, s_before, s_after):
        moves.append(
            MrrMovement(
                tenant=tenant,
                subscription_id=f"sub_{tenant.slug}",
                occurred_at=datetime(day.year, day.month, day.day, 12, tzinfo=UTC),
                day=day,
                month=day.replace(day=1),
                currency=currency,
                kind=kind,
                mrr_before=before,
                mrr_after=after,
                delta=after - before,
                status_before=s_before,
                status_after=s_after,
                source="bench",
            )
        )

    for n, tenant in enumerate(rows):
        currency = "usd" if n % 4 else "eur"
        prices = PLANS[currency]
        start = _month_add(first, rng.randrange(months))
        day = start + timedelta(days=rng.randrange(28))
        mrr, status, ever = 0, "", False
        if rng.random() < 0.3:
            move(tenant, day, currency, "status", 0, 0, "", "trialing")
            status, day = "trialing", day + timedelta(days=14)
        price = rng.choice(prices)
        move(tenant, day, currency, "new", 0, price, status, "active")
        mrr, status, ever = price, "active", True
        invoice_no = 0
        current = day
        while current < date.today():
            # one invoice a month, mostly paid at once
            paid = rng.random() > 0.04
            due = current + timedelta(days=7)
            invoice_no += 1
            invoices.append(
                InvoiceFact(
                    tenant=tenant,
                    invoice_id=f"in_{tenant.slug}_{invoice_no}",
                    number=f"{tenant.slug}-{invoice_no}",
                    currency=currency,
                    status="paid" if paid else "open",
                    total=mrr,
                    amount_paid=mrr if paid else 0,
                    amount_remaining=0 if paid else mrr,
                    finalized_on=current,
                    due_on=due,
                    paid_on=current if paid else None,
                    first_failed_on=current if rng.random() < 0.05 else None,
                    recovered=paid and rng.random() < 0.7,
                )
            )
            if rng.random() < 0.01:
                refunds.append(
                    RefundFact(
                        tenant=tenant,
                        credit_note_id=f"cn_{tenant.slug}_{invoice_no}",
                        invoice_id=f"in_{tenant.slug}_{invoice_no}",
                        currency=currency,
                        amount=mrr // 2,
                        credited=mrr // 2,
                        day=current + timedelta(days=3),
                    )
                )
            current = current + timedelta(days=30)
            roll = rng.random()
            if status == "active" and roll < 0.04:
                new = rng.choice([p for p in prices if p != mrr])
                move(
                    tenant,
                    current,
                    currency,
                    "expansion" if new > mrr else "contraction",
                    mrr,
                    new,
                    status,
                    status,
                )
                mrr = new
            elif status == "active" and roll < 0.06:
                move(tenant, current, currency, "churn", mrr, 0, status, "canceled")
                mrr, status = 0, "canceled"
                break
        if status == "canceled" and rng.random() < 0.3:
            back = current + timedelta(days=40)
            if back < date.today():
                move(tenant, back, currency, "reactivation", 0, prices[0], "canceled", "active")
                mrr, status = prices[0], "active"
        facts.append(
            SubscriptionFact(
                tenant=tenant, status=status, currency=currency, mrr=mrr, ever_paid=ever
            )
        )
    MrrMovement.objects.bulk_create(moves, batch_size=5000)
    InvoiceFact.objects.bulk_create(invoices, batch_size=5000)
    RefundFact.objects.bulk_create(refunds, batch_size=5000)
    SubscriptionFact.objects.bulk_create(facts, batch_size=5000)
    return len(moves), len(invoices)


def timed(call, requests: int) -> tuple[float, float]:
    call()  # warm-up (imports, template compilation, connection)
    durations = []
    for _ in range(requests):
        t0 = time.perf_counter()
        call()
        durations.append((time.perf_counter() - t0) * 1000)
    durations.sort()
    return statistics.median(durations), durations[max(0, int(len(durations) * 0.95) - 1)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=10000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--keep", action="store_true", help="keep the bench database afterwards")
    parser.add_argument(
        "--reuse", action="store_true", help="time the database a --keep run left (no generation)"
    )
    options = parser.parse_args()

    services = Services()
    base_url = services.database_url(prefer_local=True, name="postgres")
    bench_url = (
        base_url.rsplit("/", 1)[0]
        + f"/{DB_NAME}"
        + ("?" + base_url.split("?", 1)[1] if "?" in base_url else "")
    )
    import psycopg

    with psycopg.connect(base_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB_NAME]).fetchone()
        reuse = bool(options.reuse and exists)
        if not reuse:
            conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {DB_NAME}")
    try:
        os.environ["DATABASE_URL"] = bench_url
        os.environ["REDIS_URL"] = services.redis_url(prefer_local=True, db=14)
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "billing_project.settings")
        os.environ["LOG_LEVEL"] = "WARNING"
        import django

        django.setup()
        from django.core.management import call_command

        started = time.perf_counter()
        call_command("migrate_schemas", "--shared", "--noinput", verbosity=0)
        print(f"public schema migrated in {time.perf_counter() - started:.1f} s")
        from analytics.models import InvoiceFact, MrrMovement
        from tenants.models import Tenant

        if not reuse:
            started = time.perf_counter()
            moves, invoices = generate(options.tenants, options.months)
            print(
                f"generated {options.tenants} tenants x {options.months} months: {moves} MRR "
                f"movements, {invoices} invoices in {time.perf_counter() - started:.1f} s"
            )
            with django.db.connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        print(
            f"facts: {Tenant.objects.count()} tenants, {MrrMovement.objects.count()} MRR movements, "
            f"{InvoiceFact.objects.count()} invoices"
        )

        from django.contrib.auth.models import Group
        from django.test import Client
        from rest_framework.test import APIClient

        from tenants.models import User
        from tenants.services import auth_login

        user = User.objects.filter(email="finance@bench.test").first() or User.objects.create_user(
            email="finance@bench.test", password="bench-password-1", is_staff=True
        )
        user.groups.add(Group.objects.get(name="finance"))
        admin = Client()
        admin.force_login(user)
        token = auth_login(email=user.email, password="bench-password-1", ip="192.0.2.1")[
            "access_token"
        ]
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

        end = date.today()
        start = _month_add(end.replace(day=1), -(options.months - 1))
        query = f"from={start}&to={end}"
        calls = {
            "admin Finance overview (all currencies)": lambda: admin.get(
                f"/admin/analytics/financeoverview/?start={start}&end={end}"
            ),
            "GET /api/v1/analytics/mrr": lambda: api.get(f"/api/v1/analytics/mrr?{query}"),
            "GET /api/v1/analytics/movements": lambda: api.get(
                f"/api/v1/analytics/movements?{query}"
            ),
            "GET /api/v1/analytics/churn": lambda: api.get(f"/api/v1/analytics/churn?{query}"),
            "GET /api/v1/analytics/receivables": lambda: api.get(
                f"/api/v1/analytics/receivables?{query}"
            ),
            "GET /api/v1/analytics/mrr?currency=eur": lambda: api.get(
                f"/api/v1/analytics/mrr?{query}&currency=eur"
            ),
        }
        for name, call in calls.items():
            status = call().status_code
            p50, p95 = timed(call, options.requests)
            verdict = "ok" if p95 < 300 else "ABOVE GOAL"
            print(
                f"{name:<45} {status}  p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  ({verdict}: p95 < 300 ms)"
            )
        return 0
    finally:
        if not options.keep:
            from django.db import connections

            connections.close_all()
            with psycopg.connect(base_url, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")


if __name__ == "__main__":
    sys.exit(main())
