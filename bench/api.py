#!/usr/bin/env python
"""API overhead: the service against a bare Django view serving the same bytes, same gunicorn.

    python bench/api.py [--rounds 3] [--seconds 5] [--connections 16] [--workers 2] [--keep]

Uses its own database (`billing_bench_api` on DATABASE_URL's server, or on 127.0.0.1:5432, or an
embedded PostgreSQL; dropped afterwards unless --keep, and reused when kept) and Redis db 12, provisions one tenant with a viewer API key and an owner, and
starts two gunicorns with the production settings (config/gunicorn.conf.py, --workers sync workers,
prometheus multi-process mode as in docker compose): the service, and bench/bare_wsgi.py, Django
without middleware, database or DRF answering the bytes the service answered. Then, for each
endpoint, alternates runs of `wrk -t2 -c<connections>` between the two (rounds times) and prints
requests/s of each run, the medians, the ratio service/bare and the machine's load average (the
rest of the machine's work shows in every figure), and the gunicorn processes' CPU time per request
on each side (steadier on a busy machine; without the database's and Redis' share). Asserts
nothing.

Endpoints: `GET /api/v1/plans` (public, answered from the cache), `GET /api/v1/tenants/current`
with the API key, and with the owner's JWT. Goals (issue 21): plans >= 50% of bare Django,
tenants/current >= 35%.

Without `wrk` on the PATH (Debian: `apt-get install wrk`) a threaded Python client does the load;
its own cost then caps both sides, so the ratio reads higher than wrk's.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.dev import Services, free_port, port_open  # noqa: E402

DB_NAME = "billing_bench_api"


def start_gunicorn(app: str, env: dict, workers: int) -> tuple[subprocess.Popen, int]:
    """gunicorn with the web process's configuration file (its worker class too), `workers`
    workers, on a free port."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--config",
            str(ROOT / "config" / "gunicorn.conf.py"),
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            app,
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    for _ in range(200):
        if port_open("127.0.0.1", port):
            break
        time.sleep(0.1)
    return process, port


def stop(process: subprocess.Popen | None) -> None:
    if process is None or process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def get(port: int, path: str, headers: dict) -> tuple[int, str, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response.status, response.getheader("Content-Type", ""), body


def _python_load(port: int, path: str, headers: dict, seconds: float, connections: int) -> dict:
    counts = {"ok": 0, "other": 0}
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def client():
        ok = other = 0
        while time.perf_counter() < deadline:
            status, _, _ = get(port, path, headers)
            if status == 200:
                ok += 1
            else:
                other += 1
        with lock:
            counts["ok"] += ok
            counts["other"] += other

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return {
        "rps": (counts["ok"] + counts["other"]) / elapsed,
        "requests": counts["ok"] + counts["other"],
        "non_2xx": counts["other"],
    }


def cpu_seconds(process: subprocess.Popen) -> float | None:
    """User + system CPU seconds used so far by a gunicorn master and its workers (Linux /proc;
    None elsewhere). Per request, it is the server's own cost whatever else loads the machine,
    which the requests/s of a busy machine are not; the database's and Redis' CPU is not in it."""

    try:
        children = [
            pid for pid in os.listdir("/proc") if pid.isdigit() and _ppid(pid) == process.pid
        ]
    except OSError:
        return None
    return pids_cpu_seconds([str(process.pid), *children])


def pids_cpu_seconds(pids: list[str]) -> float | None:
    """User + system CPU seconds used so far by these processes (Linux /proc; None elsewhere)."""
    try:
        ticks = sum(int(fields[11]) + int(fields[12]) for fields in map(_stat, pids))
    except OSError:
        return None
    return ticks / os.sysconf("SC_CLK_TCK")


def _stat(pid: str) -> list[str]:
    with open(f"/proc/{pid}/stat") as file:
        return file.read().rsplit(")", 1)[1].split()


def _ppid(pid: str) -> int | None:
    try:
        return int(_stat(pid)[1])
    except OSError:  # the process ended meanwhile
        return None


def load(port: int, path: str, headers: dict, seconds: float, connections: int) -> dict:
    """Requests/s of `seconds` of closed-loop load, and how many answers were not 2xx."""
    wrk = shutil.which("wrk")
    if wrk is None:
        return _python_load(port, path, headers, seconds, connections)
    command = [wrk, "-t2", f"-c{connections}", f"-d{seconds:g}s", "--latency"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    output = subprocess.run(
        command + [f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True, check=True
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    counted = re.search(r"(\d+) requests in", output)
    requests = int(counted.group(1)) if counted else 0
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)", output)
    p50_ms = None
    if p50:
        p50_ms = float(p50.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[p50.group(2)]
    return {
        "rps": rps,
        "requests": requests,
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
        "p50_ms": p50_ms,
    }


def bench_database(services: Services, name: str) -> tuple[str, str]:
    """(server url, bench database url), the database created when missing (one kept by --keep is
    reused: migrating a new one takes minutes)."""
    import psycopg

    base_url = services.database_url(prefer_local=True, name="postgres")
    bench_url = (
        base_url.rsplit("/", 1)[0]
        + f"/{name}"
        + ("?" + base_url.split("?", 1)[1] if "?" in base_url else "")
    )
    with psycopg.connect(base_url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f"CREATE DATABASE {name}")
    return base_url, bench_url


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep the bench database afterwards")
    options = parser.parse_args()

    services = Services()
    service = bare = None
    scratch = Path(tempfile.mkdtemp(prefix="bench-api-"))
    base_url = None
    try:
        base_url, bench_url = bench_database(services, DB_NAME)
        env = {
            **os.environ,
            "DATABASE_URL": bench_url,
            "REDIS_URL": services.redis_url(prefer_local=True, db=12),
            "DJANGO_SETTINGS_MODULE": "billing_project.settings",
            "LOG_LEVEL": "WARNING",
            "DEBUG": "0",
            "PROMETHEUS_MULTIPROC_DIR": str(scratch / "prometheus"),
        }
        os.environ.update(env)
        subprocess.run(
            [sys.executable, "manage.py", "migrate_schemas", "--noinput", "-v", "0"],
            cwd=ROOT,
            check=True,
            env=env,
        )
        import django

        django.setup()
        from rest_framework_simplejwt.tokens import AccessToken

        from tenants.models import Tenant
        from tenants.services import (
            api_key_create,
            membership_create,
            tenant_create,
            tenant_template_ensure,
        )

        tenant_template_ensure()
        tenant = Tenant.objects.filter(slug="bench").first() or tenant_create(
            name="Bench", slug="bench", email="bench@bench.test"
        )
        _, key = api_key_create(tenant=tenant, name=f"bench {uuid.uuid4().hex[:6]}", role="viewer")
        membership = membership_create(
            tenant=tenant,
            email=f"owner-{uuid.uuid4().hex[:6]}@bench.test",
            role="owner",
            password=uuid.uuid4().hex,
        )
        token = AccessToken.for_user(membership.user)
        token["tenant_id"] = tenant.tenant_id
        from django.db import connections

        connections.close_all()

        endpoints = [
            ("GET /api/v1/plans (cached, public)", "/api/v1/plans", {}),
            (
                "GET /api/v1/tenants/current (API key)",
                "/api/v1/tenants/current",
                {"X-API-Key": key},
            ),
            (
                "GET /api/v1/tenants/current (JWT)",
                "/api/v1/tenants/current",
                {"Authorization": f"Bearer {token}"},
            ),
        ]
        service, service_port = start_gunicorn(
            "billing_project.wsgi:application", env, options.workers
        )
        recorded = {}
        for _, path, headers in endpoints:
            for _ in range(3):  # the first answer fills the caches; record a warm one
                status, content_type, body = get(service_port, path, headers)
            if status != 200:
                print(f"{path} answered {status}: {body[:300]!r}")
                return 1
            recorded[path] = {"content_type": content_type, "body": body.decode()}
        (scratch / "responses.json").write_text(json.dumps(recorded))
        bare, bare_port = start_gunicorn(
            "bench.bare_wsgi:application",
            {**env, "BENCH_BARE_RESPONSES": str(scratch / "responses.json")},
            options.workers,
        )
        for path, answer in recorded.items():
            status, _, body = get(bare_port, path, {})
            assert status == 200 and body.decode() == answer["body"], "bare view differs"

        client = f"wrk -t2 -c{options.connections}" if shutil.which("wrk") else "Python threads"
        print(
            f"server: gunicorn (config/gunicorn.conf.py) {options.workers} sync workers per side on "
            f"127.0.0.1, PostgreSQL {bench_url.split('@')[-1]}, Redis db 12, {os.cpu_count()} cores; "
            f"load: {client}, {options.seconds:g} s runs, {options.rounds} rounds alternated; "
            "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())
        )
        for label, path, headers in endpoints:
            load(service_port, path, headers, 1, options.connections)  # warm every worker
            load(bare_port, path, {}, 1, options.connections)
            ours: list[float] = []
            theirs: list[float] = []
            our_cpu: list[float] = []
            their_cpu: list[float] = []

            def measured(process, port, headers, rates, cpu, path=path):
                before = cpu_seconds(process)
                result = load(port, path, headers, options.seconds, options.connections)
                after = cpu_seconds(process)
                rates.append(result["rps"])
                if before is not None and after is not None and result["requests"]:
                    cpu.append((after - before) / result["requests"] * 1e6)
                return result

            for _ in range(options.rounds):
                result = measured(service, service_port, headers, ours, our_cpu)
                if result["non_2xx"]:
                    print(f"  ! service answered {result['non_2xx']} non-2xx responses")
                measured(bare, bare_port, {}, theirs, their_cpu)
            service_rps = statistics.median(ours)
            bare_rps = statistics.median(theirs)
            print(
                f"{label}: service {service_rps:,.0f} req/s vs bare Django {bare_rps:,.0f} req/s, "
                f"ratio {service_rps / bare_rps:.2f}  (runs: service "
                + ", ".join(f"{r:,.0f}" for r in ours)
                + "; bare "
                + ", ".join(f"{r:,.0f}" for r in theirs)
                + f"; {len(recorded[path]['body'])} bytes; load average "
                + " ".join(f"{x:.2f}" for x in os.getloadavg())
                + ")"
            )
            if our_cpu and their_cpu:
                ours_us, theirs_us = statistics.median(our_cpu), statistics.median(their_cpu)
                print(
                    f"  server CPU per request: service {ours_us:,.0f} us vs bare {theirs_us:,.0f}"
                    f" us, ratio bare/service {theirs_us / ours_us:.2f}"
                )
        print("goals: plans ratio >= 0.50, tenants/current ratio >= 0.35")
        return 0
    finally:
        stop(service)
        stop(bare)
        shutil.rmtree(scratch, ignore_errors=True)
        if not options.keep and base_url is not None:
            try:
                from django.db import connections

                connections.close_all()
                import psycopg

                with psycopg.connect(base_url, autocommit=True) as conn:
                    conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
            except Exception as exc:  # the figures are printed already; cleanup is best effort
                print(f"cleanup failed: {exc}")
        services.stop()


if __name__ == "__main__":
    sys.exit(main())
