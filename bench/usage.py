#!/usr/bin/env python
"""Usage metering under load, through the real HTTP stack (gunicorn) on loopback.

    python bench/usage.py [--workers 4] [--seconds 10] [--rate 1000] [--p3-events 10000000] [--keep]
    python bench/usage.py --only p2 --rate 600 --rate 800 --rate 1000   # where P2 still holds

Uses its own database (`billing_bench_usage`, or --database, on 127.0.0.1:5432 or DATABASE_URL's
server, or an embedded PostgreSQL) and Redis db 13 (or --redis-db), provisions one tenant with an
`ingest` API key, starts gunicorn with the web process's configuration (config/gunicorn.conf.py)
and N sync workers, then measures and prints (asserts nothing):
- P1: batch ingest (`POST /api/v1/usage/batch`, 1,000 events per request, each with a
  transaction_id) in events/s sustained, and a raw `COPY` of the same number of rows into the same
  table in the same run, with the ratio (issue 21's goals: >= 50,000 events/s; >= 60% of COPY),
  and the CPU each event cost gunicorn's processes, the database's backends and the clients;
- P2: single-event ingest (`POST /api/v1/usage`) at a fixed --rate requests/s, 1,000 by default,
  or at each of several --rate in turn, then the rates that kept p99 < 10 ms (open loop: requests
  leave on schedule whatever the previous ones do, each on a new connection, from one thread with
  non-blocking sockets), p50/p99 latency (goal p99 < 10 ms at 1,000/s) and the CPU each request
  cost gunicorn's processes, the database's backends, Redis and the load client itself, which
  share the machine's cores (from /proc); after P1 the database first runs the checkpoint and
  vacuum that P1's bulk load made due;
- P3: `GET /api/v1/usage/summary` p50/p95 for a tenant holding --p3-events events
  (goal p95 < 5 ms at 10,000,000 events). The events are generated inside PostgreSQL and the
  rollups recomputed from them once, as ingest would have left them.
"""

import argparse
import http.client
import json
import os
import re
import selectors
import socket
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from multiprocessing import Pool
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.api import cpu_seconds, pids_cpu_seconds, start_gunicorn, stop  # noqa: E402
from scripts.dev import Services  # noqa: E402

DB_NAME = "billing_bench_usage"
REDIS_DB = 13


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * len(ordered) + 0.5)) - 1)]


def _post(conn: http.client.HTTPConnection, path: str, body: bytes, key: str) -> tuple[int, bytes]:
    conn.request(
        "POST", path, body=body, headers={"Content-Type": "application/json", "X-API-Key": key}
    )
    response = conn.getresponse()
    return response.status, response.read()


# The answer's count of accepted events, which it gives first: read from its head instead of
# decoding its 1,000 results on the same cores as the server (JSON decoding when it is not there).
_ACCEPTED = re.compile(rb'^\{"accepted":([0-9]+),')


def _accepted(payload: bytes) -> int:
    found = _ACCEPTED.match(payload)
    return int(found[1]) if found else json.loads(payload)["accepted"]


def _batch_client(args) -> tuple[int, int, float, float]:
    """One client process: sends its pre-built batches back to back; returns (events, errors,
    seconds, its own CPU seconds meanwhile)."""
    port, key, bodies, deadline = args
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    events = errors = 0
    started, cpu = time.perf_counter(), time.process_time()
    for body, _count in bodies:
        if time.time() > deadline:
            break
        status, payload = _post(conn, "/api/v1/usage/batch", body, key)
        if status == 200:
            events += _accepted(payload)
        else:
            errors += 1
        conn.close()  # sync gunicorn workers close after each response
    return events, errors, time.perf_counter() - started, time.process_time() - cpu


def _events(n: int, run: str, offset: int) -> list[dict]:
    now = datetime.now(UTC)
    return [
        {
            "resource_type": "api_calls",
            "quantity": "1",
            "unit": "requests",
            "period_start": (now - timedelta(seconds=i % 3600)).isoformat(),
            "source": "bench",
            "transaction_id": f"{run}-{offset + i}",
        }
        for i in range(n)
    ]


def bench_p1(
    port: int,
    key: str,
    seconds: float,
    clients: int,
    server: subprocess.Popen,
    database_url: str,
    schema: str,
) -> dict:
    run = uuid.uuid4().hex[:8]
    per_client = int(seconds * 20)  # batches prepared per client: more than it can send in time
    work = []
    for c in range(clients):
        bodies = []
        for b in range(per_client):
            events = _events(1000, run, (c * per_client + b) * 1000)
            bodies.append((json.dumps({"events": events}).encode(), 1000))
        work.append(bodies)
    # Warm-up (imports, connections, caches of every worker).
    for body, _ in work[0][:4]:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        _post(conn, "/api/v1/usage/batch", body, key)
        conn.close()
    work[0] = work[0][4:]
    # Where the time goes, per event, as in P2: the web server's processes, the database's
    # backends and the client processes, which share the machine's cores.
    with Pool(clients) as pool:
        server_before = cpu_seconds(server), backend_cpu_seconds(database_url)
        deadline = time.time() + seconds
        started = time.perf_counter()
        results = pool.map(_batch_client, [(port, key, bodies, deadline) for bodies in work])
        elapsed = time.perf_counter() - started
        server_after = cpu_seconds(server), backend_cpu_seconds(database_url)
    events = sum(r[0] for r in results)
    errors = sum(r[1] for r in results)
    http_rate = events / elapsed
    counted = max(events, 1)  # no event accepted (every batch refused): no division by zero
    spent = [
        None if before is None or after is None else (after - before) / counted * 1e6
        for before, after in zip(server_before, server_after, strict=True)
    ]

    import psycopg

    rows = events
    now = datetime.now(UTC)
    with psycopg.connect(database_url) as conn:
        with conn.cursor() as cursor:
            cursor.execute(f'SET search_path TO "{schema}"')
            started = time.perf_counter()
            with cursor.copy(
                "COPY usage_usageevent (event_id, resource_type, quantity, unit, period_start, "
                "period_end, source, transaction_id, fingerprint, properties, billing_period_start, "
                "late, billed_period_start, received_at) FROM STDIN"
            ) as copy:
                start_of_month = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
                for i in range(rows):
                    at = now - timedelta(seconds=i % 3600)
                    copy.write_row(
                        (
                            uuid.uuid4(),
                            "api_calls",
                            1,
                            "requests",
                            at,
                            at,
                            "copy",
                            f"copy-{run}-{i}",
                            "0" * 64,
                            "{}",
                            start_of_month,
                            False,
                            start_of_month,
                            now,
                        )
                    )
            conn.commit()
            copy_elapsed = time.perf_counter() - started
    copy_rate = rows / copy_elapsed
    return {
        "events": events,
        "errors": errors,
        "seconds": elapsed,
        "http_rate": http_rate,
        "copy_rate": copy_rate,
        "ratio": http_rate / copy_rate,
        "web_us": spent[0],
        "database_us": spent[1],
        "client_us": sum(r[3] for r in results) / counted * 1e6,
    }


def settle(database_url: str, schema: str) -> None:
    """After P1's bulk load (and its COPY), PostgreSQL has a checkpoint and autovacuum of the events
    table due; both would land inside P2's ten seconds. Run them now so P2 measures ingest itself."""
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CHECKPOINT")
        conn.execute(f'VACUUM ANALYZE "{schema}".usage_usageevent')
    time.sleep(2)


def _single_body(at: datetime) -> bytes:
    moment = at.isoformat()
    return json.dumps(
        {
            "resource_type": "api_calls",
            "quantity": 1,
            "unit": "requests",
            "period_start": moment,
            "period_end": moment,
            "source": "bench",
        }
    ).encode()


def _single_request(port: int, key: str, body: bytes) -> bytes:
    """The HTTP/1.1 request http.client sends for a single event, as bytes."""
    return (
        f"POST /api/v1/usage HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept-Encoding: identity\r\n"
        f"Content-Length: {len(body)}\r\nContent-Type: application/json\r\nX-API-Key: {key}\r\n\r\n"
    ).encode() + body


def _open_loop(port: int, requests: list[tuple[float, bytes]], timeout: float) -> tuple[list, dict]:
    """Send each (due, request) on a new connection at its due time (perf_counter), whatever the
    earlier ones do, from one thread over non-blocking sockets; (latencies in ms from the due
    time to the whole answer, statuses). One thread with a selector costs the shared 2 cores a
    fraction of what a thread per request with http.client did, so the server is measured and
    not the client. A sync gunicorn worker closes the connection after its answer: that ends it."""
    selector = selectors.DefaultSelector()
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    pending = 0
    index = 0

    def finish(sock: socket.socket, state: dict, status: int) -> None:
        nonlocal pending
        selector.unregister(sock)
        sock.close()
        pending -= 1
        latencies.append((time.perf_counter() - state["due"]) * 1000)
        statuses[status] = statuses.get(status, 0) + 1

    while index < len(requests) or pending:
        now = time.perf_counter()
        while index < len(requests) and requests[index][0] <= now:
            due, payload = requests[index]
            index += 1
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM | socket.SOCK_NONBLOCK)
            sock.connect_ex(("127.0.0.1", port))
            state = {"due": due, "out": payload, "in": b""}
            # On loopback the connection is usually up by now: the request leaves at once,
            # without a trip through the selector (the client's CPU is the server's loss).
            try:
                state["out"] = payload[sock.send(payload) :]
            except OSError:
                pass  # not connected yet, or refused: the selector reports it
            selector.register(
                sock, selectors.EVENT_WRITE if state["out"] else selectors.EVENT_READ, state
            )
            pending += 1
        wait = requests[index][0] - time.perf_counter() if index < len(requests) else timeout
        for key, events in selector.select(max(0.0, min(wait, timeout))):
            sock, state = key.fileobj, key.data
            try:
                if events & selectors.EVENT_WRITE:
                    sent = sock.send(state["out"])
                    state["out"] = state["out"][sent:]
                    if not state["out"]:
                        selector.modify(sock, selectors.EVENT_READ, state)
                    continue
                chunk = sock.recv(65536)
            except OSError:
                finish(sock, state, 0)  # refused or reset: counted as status 0
                continue
            if chunk:
                state["in"] += chunk
            else:
                finish(sock, state, int(state["in"][9:12] or 0))
        if index >= len(requests) and pending and time.perf_counter() > requests[-1][0] + timeout:
            for key in list(selector.get_map().values()):
                finish(key.fileobj, key.data, 0)  # no answer within the timeout
    return latencies, statuses


def backend_cpu_seconds(database_url: str) -> float | None:
    """User + system CPU seconds used so far by the PostgreSQL backends connected to the bench
    database (the web workers keep theirs across requests), this query's own excepted; None when
    /proc cannot tell (not Linux, or another user's processes)."""
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        pids = [
            str(row[0])
            for row in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid()"
            )
        ]
    return pids_cpu_seconds(pids)


def redis_cpu_seconds(redis_url: str) -> float | None:
    """User + system CPU seconds used so far by the Redis server (every database of it: nothing
    else uses it during a bench); None when it is not a process of this machine's /proc."""
    import redis

    client = redis.Redis.from_url(redis_url, socket_connect_timeout=2)
    try:
        return pids_cpu_seconds([str(client.info("server")["process_id"])])
    finally:
        client.close()


def bench_p2(
    port: int,
    key: str,
    seconds: float,
    rate: int,
    server: subprocess.Popen,
    database_url: str,
    redis_url: str,
) -> dict:
    total = int(seconds * rate)

    # Warm-up: every worker imports and connects before the clock starts (not counted).
    def warm(_):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        _post(conn, "/api/v1/usage", _single_body(datetime.now(UTC)), key)
        conn.close()

    with ThreadPoolExecutor(max_workers=8) as warm_up:
        list(warm_up.map(warm, range(200)))
    # Every request is built before the clock starts, with about its due time as the event's time.
    wall = datetime.now(UTC)
    payloads = [
        _single_request(port, key, _single_body(wall + timedelta(seconds=i / rate)))
        for i in range(total)
    ]
    start = time.perf_counter() + 0.2
    requests = [(start + i / rate, payload) for i, payload in enumerate(payloads)]

    # Where the time goes, per request, on the machine's shared cores: the web server's processes,
    # the database's backends, Redis and this load client (read from /proc before and after).
    def used() -> tuple[float | None, ...]:
        return (
            cpu_seconds(server),
            backend_cpu_seconds(database_url),
            redis_cpu_seconds(redis_url),
            time.process_time(),
        )

    before = used()
    latencies, statuses = _open_loop(port, requests, timeout=10)
    after = used()

    def per_request_us(before: float | None, after: float | None) -> float | None:
        return None if before is None or after is None else (after - before) / total * 1e6

    return {
        "requests": total,
        "statuses": statuses,
        "p50": percentile(latencies, 50),
        "p99": percentile(latencies, 99),
        "max": max(latencies),
        **{
            f"{part}_us": per_request_us(start, end)
            for part, start, end in zip(
                ("web", "database", "redis", "client"), before, after, strict=True
            )
        },
    }


def print_cpu(unit: str, rate: float, parts_us: dict[str, float | None]) -> None:
    """The CPU each `unit` cost each process group (those /proc could tell), and what they add up
    to at `rate` units a second against the machine's cores."""
    measured = {name: us for name, us in parts_us.items() if us is not None}
    total = sum(measured.values())
    precision = 1 if total < 100 else 0
    print(
        f"   CPU per {unit}: "
        + ", ".join(f"{name} {us:,.{precision}f} us" for name, us in measured.items())
        + f"; {total:,.{precision}f} us x {rate:,.0f}/s = {total * rate / 1e6:.2f} "
        f"of the machine's {os.cpu_count()} cores"
    )


def load_p3(database_url: str, schema: str, events: int) -> float:
    """Generate `events` events of the current month in PostgreSQL and rebuild the rollups."""
    import psycopg

    started = time.perf_counter()
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f'SET search_path TO "{schema}"')
        conn.execute("SET timezone TO 'UTC'")
        have = conn.execute("SELECT count(*) FROM usage_usageevent").fetchone()[0]
        chunk = 1_000_000
        for offset in range(have, events, chunk):
            n = min(chunk, events - offset)
            conn.execute(
                "INSERT INTO usage_usageevent (event_id, resource_type, quantity, unit, period_start, period_end, "
                "source, transaction_id, fingerprint, properties, billing_period_start, late, billed_period_start, "
                "received_at) "
                "SELECT gen_random_uuid(), (ARRAY['api_calls','storage_gb','users'])[1 + i %% 3], 1, 'u', "
                "date_trunc('month', now()) + (i %% 86400) * interval '1 second', "
                "date_trunc('month', now()) + (i %% 86400) * interval '1 second', 'bench', NULL, '', '{}', "
                "date_trunc('month', now()), false, date_trunc('month', now()), now() "
                "FROM generate_series(%s, %s) AS i",
                [offset, offset + n - 1],
            )
            print(f"  ... {offset + n:,} events", flush=True)
        conn.execute("DELETE FROM usage_usagerollup")
        conn.execute(
            "INSERT INTO usage_usagerollup (resource_type, period_start, period_end, total, event_count, max_value, "
            "last_value, last_at, unique_count, late_billed, late_received, updated) "
            "SELECT resource_type, billing_period_start, billing_period_start + interval '1 month', sum(quantity), "
            "count(*), max(quantity), 1, max(period_start), 0, 0, 0, now() FROM usage_usageevent "
            "GROUP BY resource_type, billing_period_start"
        )
        conn.execute("ANALYZE usage_usageevent")
    return time.perf_counter() - started


def bench_p3(port: int, token: str, requests: int) -> dict:
    latencies = []
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    for i in range(requests + 20):
        started = time.perf_counter()
        conn.request("GET", "/api/v1/usage/summary", headers={"X-API-Key": token})
        response = conn.getresponse()
        body = response.read()
        conn.close()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        if i >= 20:  # warm-up excluded
            latencies.append((time.perf_counter() - started) * 1000)
        assert response.status == 200, body
    return {
        "requests": requests,
        "p50": percentile(latencies, 50),
        "p95": percentile(latencies, 95),
        "summary": json.loads(body),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument("--seconds", type=float, default=10, help="duration of P1 and P2")
    parser.add_argument("--clients", type=int, default=4, help="P1 client processes")
    parser.add_argument(
        "--rate",
        type=int,
        action="append",
        help="P2 requests per second (repeatable: one P2 run at each; default 1000)",
    )
    parser.add_argument("--p3-events", type=int, default=10_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the bench database afterwards")
    parser.add_argument(
        "--database", default=DB_NAME, help="bench database name (two benches at once need two)"
    )
    parser.add_argument("--redis-db", type=int, default=REDIS_DB, help="Redis db number")
    parser.add_argument(
        "--only",
        choices=["p1", "p2", "p3"],
        action="append",
        help="run only these parts (repeatable; default all)",
    )
    options = parser.parse_args()
    db_name = options.database

    services = Services()
    gunicorn = None
    base_url = services.database_url(prefer_local=True, name="postgres")
    bench_url = (
        base_url.rsplit("/", 1)[0]
        + f"/{db_name}"
        + ("?" + base_url.split("?", 1)[1] if "?" in base_url else "")
    )
    try:
        import psycopg

        with psycopg.connect(base_url, autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [db_name]
            ).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{db_name}"')
        env = {
            **os.environ,
            "DATABASE_URL": bench_url,
            "REDIS_URL": services.redis_url(prefer_local=True, db=options.redis_db),
            "DJANGO_SETTINGS_MODULE": "billing_project.settings",
            "LOG_LEVEL": "WARNING",
            "DEBUG": "0",
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
        from tenants.models import Tenant
        from tenants.services import api_key_create, tenant_create, tenant_template_ensure

        tenant_template_ensure()
        tenant = Tenant.objects.filter(slug="bench").first() or tenant_create(
            name="Bench", slug="bench", email="bench@bench.test"
        )
        _, key = api_key_create(tenant=tenant, name=f"bench {uuid.uuid4().hex[:6]}", role="ingest")
        _, reader = api_key_create(
            tenant=tenant, name=f"bench reader {uuid.uuid4().hex[:6]}", role="viewer"
        )
        from django.db import connections

        connections.close_all()

        gunicorn, port = start_gunicorn("billing_project.wsgi:application", env, options.workers)
        print(
            f"server: gunicorn (config/gunicorn.conf.py) {options.workers} sync workers on "
            f"127.0.0.1:{port}, PostgreSQL "
            f"{bench_url.split('@')[-1]}, Redis db {options.redis_db}, {os.cpu_count()} cores; clients on the same machine"
        )

        parts = set(options.only or ["p1", "p2", "p3"])
        if "p1" in parts:
            p1 = bench_p1(
                port, key, options.seconds, options.clients, gunicorn, bench_url, tenant.schema_name
            )
            print(
                f"P1 batch ingest: {p1['events']:,} events in {p1['seconds']:.1f} s = {p1['http_rate']:,.0f} "
                f"events/s ({options.clients} client processes, 1,000 events per request, {p1['errors']} errors); "
                f"raw COPY of as many rows: {p1['copy_rate']:,.0f} rows/s; ratio {p1['ratio'] * 100:.0f}% "
                f"(goals >= 50,000/s and >= 60%)"
            )
            print_cpu(
                "event",
                p1["http_rate"],
                {
                    "gunicorn": p1["web_us"],
                    "PostgreSQL backends": p1["database_us"],
                    "client processes": p1["client_us"],
                },
            )
        if "p2" in parts:
            if "p1" in parts:
                settle(bench_url, tenant.schema_name)
            held = []
            for rate in options.rate or [1000]:
                p2 = bench_p2(
                    port, key, options.seconds, rate, gunicorn, bench_url, env["REDIS_URL"]
                )
                print(
                    f"P2 single ingest at {rate} req/s for {options.seconds:.0f} s: {p2['requests']} requests "
                    f"{p2['statuses']}; p50 {p2['p50']:.1f} ms, p99 {p2['p99']:.1f} ms, max {p2['max']:.1f} ms "
                    f"(goal p99 < 10 ms at 1,000 req/s)"
                )
                print_cpu(
                    "request",
                    rate,
                    {
                        "gunicorn": p2["web_us"],
                        "PostgreSQL backends": p2["database_us"],
                        "Redis": p2["redis_us"],
                        "load client": p2["client_us"],
                    },
                )
                if p2["p99"] < 10 and set(p2["statuses"]) == {201}:
                    held.append(rate)
            if len(options.rate or []) > 1:
                tried = ", ".join(f"{rate:,}" for rate in options.rate)
                print(
                    f"P2 kept p99 < 10 ms (all 201) at {', '.join(f'{rate:,}' for rate in held) or 'none'}"
                    f" of {tried} req/s"
                )
        if "p3" not in parts:
            return 0
        print(f"P3 loading {options.p3_events:,} events ...", flush=True)
        load_seconds = load_p3(bench_url, tenant.schema_name, options.p3_events)
        print(f"  loaded in {load_seconds:.0f} s")
        p3 = bench_p3(port, reader, 200)
        print(
            f"P3 usage/summary with {options.p3_events:,} events: p50 {p3['p50']:.1f} ms, p95 {p3['p95']:.1f} ms "
            f"over {p3['requests']} requests (goal p95 < 5 ms)"
        )
        print("   " + ", ".join(f"{r['resource_type']}={r['used']}" for r in p3["summary"]))
        return 0
    finally:
        stop(gunicorn)
        if not options.keep:
            try:
                from django.db import connections

                connections.close_all()
                with psycopg.connect(base_url, autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
            except Exception as exc:  # the figures are printed already; cleanup is best effort
                print(f"cleanup failed: {exc}")
        services.stop()


if __name__ == "__main__":
    sys.exit(main())
