#!/usr/bin/env python
"""Tenant provisioning and no-op migration at scale.

    python bench/tenants.py [--tenants 1000] [--interval 0.25] [--keep]

Uses its own database (`billing_bench` on DATABASE_URL's server, or on 127.0.0.1:5432, or an embedded
PostgreSQL), migrates it, provisions N tenants through the `tenant_create` service and times each
one, then times a no-op `migrate_schemas` over all of them. Prints the figures; asserts nothing.
Goals: a new tenant < 50 ms flat to 10,000 tenants (issue 21); a no-op migrate over 1,000 tenants
< 60 s. Provisioning takes a spare clone made ahead (TENANT_SPARE_SCHEMAS) when one is ready: a
thread stands in for the Celery worker that refills them, and the figures say how many tenants
found one and what a refill (an inline clone) costs.
"""

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.dev import Services  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--keep", action="store_true", help="keep the bench database afterwards")
    parser.add_argument(
        "--interval",
        type=float,
        default=0.25,
        help="seconds between two provisionings (signups arrive spaced; 0 = back to back, when the "
        "spare clones cannot keep up and provisioning clones inline)",
    )
    options = parser.parse_args()

    services = Services()
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
        os.environ["DATABASE_URL"] = bench_url
        os.environ["REDIS_URL"] = services.redis_url(prefer_local=True, db=14)
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "billing_project.settings")
        os.environ["LOG_LEVEL"] = "WARNING"
        manage = [sys.executable, "manage.py"]
        started = time.perf_counter()
        subprocess.run(manage + ["migrate_schemas", "--noinput", "-v", "0"], cwd=ROOT, check=True)
        print(f"public schema migrated in {time.perf_counter() - started:.1f} s")

        import django

        django.setup()
        from django.conf import settings

        from tenants.services import tenant_create, tenant_template_ensure
        from tenants.services.provisioning import tenant_spares_refill
        from tenants.services.spares import spare_list

        started = time.perf_counter()
        tenant_template_ensure(force=True)
        print(f"tenant template built in {time.perf_counter() - started:.2f} s")
        started = time.perf_counter()
        tenant_spares_refill(count=1)
        print(
            f"one inline clone of the template (no spare): {(time.perf_counter() - started) * 1000:.0f} ms"
        )

        # The Celery worker's part: tenant_create sends tenant_spares_refill after each commit; here a
        # thread with its own connection refills whenever a spare was taken.
        stop_refill = threading.Event()
        refills: list[float] = []

        def refill_loop():
            from django.db import connection as refill_connection

            while not stop_refill.is_set():
                t0 = time.perf_counter()
                if tenant_spares_refill():
                    refills.append(time.perf_counter() - t0)
                else:
                    stop_refill.wait(0.05)
            refill_connection.close()

        refill_thread = None
        if settings.TENANT_SPARE_SCHEMAS > 0:
            tenant_spares_refill()
            refill_thread = threading.Thread(target=refill_loop, daemon=True)
            refill_thread.start()

        durations = []
        with_spare: list[float] = []
        took_spare = 0
        started = time.perf_counter()
        for i in range(options.tenants):
            spares_before = len(spare_list())
            t0 = time.perf_counter()
            tenant_create(name=f"Bench {i}", slug=f"bench-{i:05d}", email=f"b{i}@bench.test")
            durations.append(time.perf_counter() - t0)
            took_spare += spares_before > 0
            if spares_before > 0:
                with_spare.append(durations[-1])
            if options.interval:
                time.sleep(options.interval)
            if (i + 1) % 100 == 0:
                recent = durations[-100:]
                print(
                    f"  {i + 1:>5} tenants  last 100: mean {statistics.mean(recent) * 1000:.0f} ms, "
                    f"max {max(recent) * 1000:.0f} ms",
                    flush=True,
                )
        total = time.perf_counter() - started
        stop_refill.set()
        if refill_thread is not None:
            refill_thread.join()
        last = durations[-min(100, len(durations)) :]
        print(
            f"{took_spare} of {options.tenants} tenants took a spare clone "
            f"(TENANT_SPARE_SCHEMAS={settings.TENANT_SPARE_SCHEMAS}, {options.interval:g} s between "
            f"signups); background refills: {len(refills)}, mean "
            f"{statistics.mean(refills) * 1000 if refills else 0:.0f} ms each"
        )
        if with_spare:
            ordered = sorted(with_spare)
            print(
                f"per tenant that took a spare: p50 {ordered[len(ordered) // 2] * 1000:.0f} ms, "
                f"mean {statistics.mean(ordered) * 1000:.0f} ms, max {ordered[-1] * 1000:.0f} ms"
            )
        print(f"provisioned {options.tenants} tenants in {total:.1f} s")
        print(
            f"per tenant: mean {statistics.mean(durations) * 1000:.0f} ms, "
            f"p95 {sorted(durations)[int(len(durations) * 0.95) - 1] * 1000:.0f} ms, "
            f"max {max(durations) * 1000:.0f} ms; at {options.tenants} tenants (last {len(last)}): "
            f"mean {statistics.mean(last) * 1000:.0f} ms"
        )

        from django.db import connection, connections

        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*), pg_size_pretty(sum(pg_relation_size(oid))) FROM pg_class"
            )
            relations, catalog_size = cursor.fetchone()
            cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
            database_size = cursor.fetchone()[0]
        print(
            f"catalog: {relations:,} relations (pg_class rows) of {catalog_size}; database "
            f"{database_size} with {options.tenants} tenants"
        )
        connections.close_all()
        started = time.perf_counter()
        subprocess.run(manage + ["migrate_schemas", "--noinput", "-v", "0"], cwd=ROOT, check=True)
        print(
            f"no-op migrate_schemas over {options.tenants} tenants: {time.perf_counter() - started:.1f} s"
        )
        started = time.perf_counter()
        subprocess.run(
            manage
            + [
                "migrate_schemas",
                "--tenant",
                "--executor",
                "multiprocessing",
                "--noinput",
                "-v",
                "0",
            ],
            cwd=ROOT,
            check=True,
        ) if options.tenants <= 200 else None
        if options.tenants <= 200:
            print(
                f"  (django-tenants' own multiprocessing executor, for comparison: "
                f"{time.perf_counter() - started:.1f} s)"
            )
        return 0
    finally:
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
