#!/usr/bin/env python
"""Tenants at scale: provisioning, migrations, catalog size and API latency up to N tenants.

    python bench/tenants.py [--tenants 1000] [--signups 200] [--fill-workers 2] [--requests 300]
                            [--fill-batch 20] [--interval 0.5] [--keep]

Uses its own database (`billing_bench` on DATABASE_URL's server, or on 127.0.0.1:5432, or an embedded
PostgreSQL) and Redis db 14, migrates it, then:
1. provisions 10 tenants, times `GET /api/v1/tenants/current` and `GET /api/v1/notifications` (one
   tenant's API key, under gunicorn with 2 sync workers, `--requests` sequential requests each: p50
   and p95), then `--signups` real `tenant_create` signups (spare clones refilled by a thread standing
   in for the Celery worker, `--interval` s between signups) "at 10 tenants";
2. fills up to N - signups tenants with `tenant_create` in `--fill-workers` parallel threads (each
   with its own connection, `--fill-batch` tenants per transaction, asynchronous commit; no spares,
   so every one clones the template inline: the same clone path), reported separately with its own
   per-tenant figure;
3. times the API requests again, and `--signups` real signups up to N tenants;
4. prints the catalog (pg_class rows, pg_catalog's size, the database's size), times a no-op
   `migrate_schemas`, and one real added-column migration over every schema: a nullable column and
   its index on notifications.Delivery, written as a temporary migration file (removed afterwards)
   and applied by `migrate_schemas` (billing_project/tenant_migrations.py's collected-SQL path).
Prints the figures with the load average; asserts nothing. Goals: a signup < 50 ms flat to 10,000
tenants (issue 21); the added column over 10,000 schemas < 5 minutes; API p50 without growth.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.api import get, start_gunicorn, stop  # noqa: E402
from scripts.dev import Services  # noqa: E402

BENCH_MIGRATION = ROOT / "notifications" / "migrations" / "9999_bench_added_column.py"


def load() -> str:
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--signups", type=int, default=150, help="timed signups at 10 and at N")
    parser.add_argument(
        "--fill-batch",
        type=int,
        default=20,
        help="fill tenants per transaction (commits without waiting for the WAL flush)",
    )
    parser.add_argument("--fill-workers", type=int, default=2)
    parser.add_argument("--requests", type=int, default=300, help="API requests per endpoint")
    parser.add_argument(
        "--interval",
        type=float,
        default=0.5,
        help="seconds between two timed signups (signups arrive spaced, and the refill of the spare "
        "clones keeps up; 0 = back to back, when provisioning clones inline)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the bench database afterwards")
    options = parser.parse_args()
    if options.tenants < 10 + 2 * options.signups:
        parser.error("--tenants must be at least 10 + 2 * --signups")

    services = Services()
    gunicorn = None
    scratch = Path(tempfile.mkdtemp(prefix="bench-tenants-"))
    try:
        base_url = services.database_url(prefer_local=True, name="postgres")
        bench_url = (
            base_url.rsplit("/", 1)[0]
            + "/billing_bench"
            + ("?" + base_url.split("?", 1)[1] if "?" in base_url else "")
        )
        import psycopg

        with psycopg.connect(base_url, autocommit=True) as conn:
            conn.execute("DROP DATABASE IF EXISTS billing_bench WITH (FORCE)")
            conn.execute("CREATE DATABASE billing_bench")
        (scratch / "prometheus").mkdir()
        env = {
            **os.environ,
            "DATABASE_URL": bench_url,
            "REDIS_URL": services.redis_url(prefer_local=True, db=14),
            "DJANGO_SETTINGS_MODULE": "billing_project.settings",
            "LOG_LEVEL": "WARNING",
            "DEBUG": "0",
            "PROMETHEUS_MULTIPROC_DIR": str(scratch / "prometheus"),
        }
        os.environ.update(env)
        manage = [sys.executable, "manage.py"]
        started = time.perf_counter()
        subprocess.run(manage + ["migrate_schemas", "--noinput", "-v", "0"], cwd=ROOT, check=True)
        print(f"public schema migrated in {time.perf_counter() - started:.1f} s ({load()})")

        import django

        django.setup()
        from django.conf import settings
        from django.db import connection, connections, transaction

        from tenants.services import api_key_create, tenant_create, tenant_template_ensure
        from tenants.services.provisioning import tenant_spares_refill
        from tenants.services.spares import spare_list

        started = time.perf_counter()
        tenant_template_ensure(force=True)
        print(f"tenant template built in {time.perf_counter() - started:.2f} s")
        started = time.perf_counter()
        tenant_spares_refill(count=1)
        print(f"one inline clone of the template (no spare): {ms(time.perf_counter() - started)}")

        count = 0

        def create(i: int):
            return tenant_create(name=f"Bench {i}", slug=f"bench-{i:05d}", email=f"b{i}@bench.test")

        api_tenant = create(count)
        count += 1
        _, api_key = api_key_create(tenant=api_tenant, name="bench", role="viewer")
        while count < 10:
            create(count)
            count += 1

        def signups(label: str) -> None:
            """--signups real provisionings, spares refilled by a thread (the Celery worker's part)."""
            nonlocal count
            stop_refill = threading.Event()
            refills: list[float] = []

            def refill_loop():
                from django.db import connection as refill_connection

                while not stop_refill.is_set():
                    t0 = time.perf_counter()
                    if tenant_spares_refill():
                        refills.append(time.perf_counter() - t0)
                    else:
                        stop_refill.wait(0.02)
                refill_connection.close()

            refill_thread = None
            if settings.TENANT_SPARE_SCHEMAS > 0:
                tenant_spares_refill()
                refill_thread = threading.Thread(target=refill_loop, daemon=True)
                refill_thread.start()
            durations, with_spare = [], []
            for _ in range(options.signups):
                spares_before = len(spare_list())
                t0 = time.perf_counter()
                create(count)
                durations.append(time.perf_counter() - t0)
                count += 1
                if spares_before:
                    with_spare.append(durations[-1])
                if options.interval:
                    time.sleep(options.interval)
            stop_refill.set()
            if refill_thread is not None:
                refill_thread.join()
            print(
                f"signups {label} ({count - options.signups}->{count} tenants): p50 "
                f"{ms(percentile(durations, 0.5))}, mean {ms(statistics.mean(durations))}, p95 "
                f"{ms(percentile(durations, 0.95))}, max {ms(max(durations))}; {len(with_spare)} of "
                f"{len(durations)} took a spare (p50 "
                f"{ms(percentile(with_spare, 0.5)) if with_spare else '-'}); background refills: "
                f"{len(refills)}, mean {ms(statistics.mean(refills)) if refills else '-'} "
                f"({load()})",
                flush=True,
            )

        def api_latency(label: str) -> None:
            nonlocal gunicorn
            connections.close_all()
            gunicorn, port = start_gunicorn("billing_project.wsgi:application", env, 2)
            try:
                for path in ("/api/v1/tenants/current", "/api/v1/notifications"):
                    headers = {"X-API-Key": api_key}
                    for _ in range(5):  # warm caches and both workers
                        status, _, body = get(port, path, headers)
                    if status != 200:
                        print(f"  GET {path} answered {status}: {body[:200]!r}")
                        continue
                    timings = []
                    for _ in range(options.requests):
                        t0 = time.perf_counter()
                        get(port, path, headers)
                        timings.append(time.perf_counter() - t0)
                    print(
                        f"API at {label} ({count} tenants): GET {path} p50 "
                        f"{ms(percentile(timings, 0.5))}, p95 {ms(percentile(timings, 0.95))} "
                        f"({options.requests} sequential requests, {load()})",
                        flush=True,
                    )
            finally:
                stop(gunicorn)
                gunicorn = None

        api_latency("10 tenants")
        signups("at 10 tenants")

        # The bulk: the same tenant_create, in parallel connections, cloning inline (spares of a
        # thread-less fill would only move the clone elsewhere).
        fill_to = options.tenants - options.signups
        fill_from = count
        durations: list[float] = []

        def fill(indexes: range) -> None:
            try:
                with connection.cursor() as cursor:  # the bulk only: a lost fill is re-run
                    cursor.execute("SET synchronous_commit TO off")
                batch = list(indexes)
                for start in range(0, len(batch), options.fill_batch):
                    with transaction.atomic():
                        for i in batch[start : start + options.fill_batch]:
                            t0 = time.perf_counter()
                            create(i)
                            durations.append(time.perf_counter() - t0)
                            if len(durations) % 1000 == 0:
                                print(f"  filled {len(durations)} ({load()})", flush=True)
            finally:
                connection.close()

        for schema in spare_list():  # every fill clone inline
            with connection.cursor() as cursor:
                cursor.execute(f'DROP SCHEMA "{schema}" CASCADE')
        started = time.perf_counter()
        workers = options.fill_workers
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(fill, [range(fill_from + w, fill_to, workers) for w in range(workers)]))
        elapsed = time.perf_counter() - started
        count = fill_to
        print(
            f"fill: {len(durations)} tenants by tenant_create (inline clone) in {elapsed:.0f} s with "
            f"{workers} connections, {options.fill_batch} per transaction: "
            f"{ms(elapsed / max(1, len(durations)))} per tenant overall, "
            f"each p50 {ms(percentile(durations, 0.5))}, p95 {ms(percentile(durations, 0.95))} "
            f"({load()})",
            flush=True,
        )

        api_latency(f"{options.tenants - options.signups} tenants")
        signups(f"at {options.tenants} tenants")

        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_class")
            relations = cursor.fetchone()[0]
            cursor.execute(
                "SELECT pg_size_pretty(sum(pg_total_relation_size(oid))) FROM pg_class "
                "WHERE relnamespace = 'pg_catalog'::regnamespace AND relkind = 'r'"
            )
            catalog_size = cursor.fetchone()[0]
            cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
            database_size = cursor.fetchone()[0]
            cursor.execute("SELECT count(*) FROM pg_namespace")
            namespaces = cursor.fetchone()[0]
        print(
            f"catalog at {count} tenants: {relations:,} pg_class rows, {namespaces:,} schemas, "
            f"pg_catalog {catalog_size}, database {database_size}"
        )
        connections.close_all()

        started = time.perf_counter()
        subprocess.run(manage + ["migrate_schemas", "--noinput", "-v", "0"], cwd=ROOT, check=True)
        print(
            f"no-op migrate_schemas over {count} tenants: {time.perf_counter() - started:.1f} s "
            f"({load()})",
            flush=True,
        )

        from django.db.migrations.loader import MigrationLoader

        leaf = max(
            name for app, name in MigrationLoader(None).graph.leaf_nodes() if app == "notifications"
        )
        BENCH_MIGRATION.write_text(
            "from django.db import migrations, models\n\n\n"
            "class Migration(migrations.Migration):\n"
            f"    dependencies = [('notifications', {leaf!r})]\n"
            "    operations = [\n"
            "        migrations.AddField('delivery', 'bench_note', "
            "models.CharField(max_length=40, null=True, blank=True, db_index=True)),\n"
            "    ]\n"
        )
        try:
            started = time.perf_counter()
            subprocess.run(manage + ["migrate_schemas", "--noinput"], cwd=ROOT, check=True)
            elapsed = time.perf_counter() - started
        finally:
            BENCH_MIGRATION.unlink()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
                "WHERE c.relname = 'notifications_delivery' AND a.attname = 'bench_note' "
                "AND NOT a.attisdropped"
            )
            migrated = cursor.fetchone()[0]
        print(
            f"added-column migration (AddField + index on notifications_delivery) over {count} "
            f"tenants: {elapsed:.1f} s ({elapsed / count * 1000:.1f} ms per schema); "
            f"{migrated} schemas have the column ({load()})"
        )
        return 0
    finally:
        if BENCH_MIGRATION.exists():
            BENCH_MIGRATION.unlink()
        stop(gunicorn)
        if not options.keep:
            try:
                from django.db import connections

                connections.close_all()
                import psycopg

                with psycopg.connect(base_url, autocommit=True) as conn:
                    conn.execute("DROP DATABASE IF EXISTS billing_bench WITH (FORCE)")
            except Exception as exc:  # the figures are printed already; cleanup is best effort
                print(f"cleanup failed: {exc}")
        services.stop()


if __name__ == "__main__":
    sys.exit(main())
