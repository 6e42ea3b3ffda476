#!/usr/bin/env python
"""Tenant provisioning and no-op migration at scale.

    python bench/tenants.py [--tenants 1000] [--keep]

Uses its own database (`billing_bench` on DATABASE_URL's server, or on 127.0.0.1:5432, or an embedded
PostgreSQL), migrates it, provisions N tenants through the `tenant_create` service and times each
one, then times a no-op `migrate_schemas` over all of them. Prints the figures; asserts nothing.
Goals: a new tenant < 1 s even with 1,000 tenants; a no-op migrate over 1,000 tenants < 60 s.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.dev import Services  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--keep", action="store_true", help="keep the bench database afterwards")
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
        from tenants.services import tenant_create, tenant_template_ensure

        started = time.perf_counter()
        tenant_template_ensure(force=True)
        print(f"tenant template built in {time.perf_counter() - started:.2f} s")

        durations = []
        started = time.perf_counter()
        for i in range(options.tenants):
            t0 = time.perf_counter()
            tenant_create(name=f"Bench {i}", slug=f"bench-{i:05d}", email=f"b{i}@bench.test")
            durations.append(time.perf_counter() - t0)
            if (i + 1) % 100 == 0:
                recent = durations[-100:]
                print(
                    f"  {i + 1:>5} tenants  last 100: mean {statistics.mean(recent) * 1000:.0f} ms, "
                    f"max {max(recent) * 1000:.0f} ms",
                    flush=True,
                )
        total = time.perf_counter() - started
        last = durations[-min(100, len(durations)) :]
        print(f"provisioned {options.tenants} tenants in {total:.1f} s")
        print(
            f"per tenant: mean {statistics.mean(durations) * 1000:.0f} ms, "
            f"p95 {sorted(durations)[int(len(durations) * 0.95) - 1] * 1000:.0f} ms, "
            f"max {max(durations) * 1000:.0f} ms; at {options.tenants} tenants (last {len(last)}): "
            f"mean {statistics.mean(last) * 1000:.0f} ms"
        )

        from django.db import connections

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
