#!/usr/bin/env python
"""Outbound webhooks: deliveries per second and event-to-delivery latency, fanned out to local sinks.

    python bench/webhooks.py [--endpoints 8] [--rate 80] [--seconds 15] [--workers 2]

Uses its own database (`billing_bench_webhooks` on DATABASE_URL's server, or 127.0.0.1:5432, or an
embedded PostgreSQL) with one tenant and `--endpoints` endpoints, each a local HTTP sink (a separate
process) subscribed to every event. An emitter records `--rate` events per second for `--seconds`
through `emit_event` (each event fans out to every endpoint), while `--workers` processes (the
worker concurrency of a Celery worker on this 2-core machine) do what `webhook_endpoint_flush` does:
each wakes the endpoints with due deliveries in its sender pool (webhooks.dispatcher). Latency is
from the event's creation to the sink receiving it. Run 1: every sink answers at once. Run 2: one
sink answers in 5 s; the figures are for the other endpoints. Goal (issue 17): >= 500 deliveries/s, p99 < 2 s.
Prints the figures (and how many events the emitter managed: on a busy machine it, not the senders,
may be what limits the load offered); asserts nothing.
"""

import argparse
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.dev import Services  # noqa: E402

DB = "billing_bench_webhooks"


def _sink(port_queue, log_path: str, delay: float) -> None:
    log = open(log_path, "a", buffering=1)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if delay:
                time.sleep(delay)
            log.write(f"{self.headers['webhook-id']} {time.time()}\n")
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    ThreadingHTTPServer.request_queue_size = 256
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port_queue.put(server.server_port)
    server.serve_forever()


def _django():
    import django

    django.setup()


def _worker(emitted_at, stop_at: float) -> None:
    """A worker process: what `webhook_endpoint_flush` tasks do (wake the endpoint in this process's
    sender pool), for every endpoint with a delivery due, every 20 ms (a Celery task's hop), until
    10 s after the emitter's last event (on a busy machine its start may lag far behind ours)."""
    _django()
    from tenants.models import Tenant
    from webhooks import dispatcher
    from webhooks.services import endpoints_due

    tenant = Tenant.objects.get(slug="bench-hooks")
    pool = dispatcher.get()
    while time.time() < stop_at and not (emitted_at.value and time.time() > emitted_at.value + 10):
        for pk in endpoints_due(tenant=tenant):
            pool.wake(tenant, pk)
        time.sleep(0.02)
    os._exit(0)  # a slow endpoint's thread may still wait on its sink: the run is over


def _emitter(emitted_at, rate: int, seconds: int) -> None:
    _django()
    from django.db import transaction

    from tenants.models import Tenant
    from webhooks.services import emit_event

    tenant = Tenant.objects.get(slug="bench-hooks")
    start = time.time()
    n = 0
    while time.time() - start < seconds:
        due = int((time.time() - start) * rate)
        while n < due:
            with transaction.atomic():
                emit_event(
                    tenant=tenant,
                    type="usage.threshold_reached",
                    obj={"resource_type": "api_calls", "threshold": 80, "used": str(n)},
                    dedup_key=f"bench:{time.time()}:{n}",
                )
            n += 1
        time.sleep(0.005)
    emitted_at.value = time.time()


def _run(label: str, endpoints: int, rate: int, seconds: int, workers: int, slow: bool) -> None:
    from django.db import connection
    from django_tenants.utils import tenant_context

    from tenants.models import Tenant
    from webhooks.models import Event, WebhookDelivery, WebhookEndpoint
    from webhooks.services import endpoint_create

    tenant = Tenant.objects.get(slug="bench-hooks")
    with tenant_context(tenant):
        WebhookDelivery.objects.all().delete()
        Event.objects.all().delete()
        WebhookEndpoint.objects.all().delete()
    logs, sinks, pks = [], [], []
    queue = mp.Queue()
    for i in range(endpoints):
        log_path = f"/tmp/bench-webhooks-{os.getpid()}-{label}-{i}.log"
        Path(log_path).write_text("")
        delay = 5.0 if (slow and i == 0) else 0.0
        process = mp.Process(target=_sink, args=(queue, log_path, delay), daemon=True)
        process.start()
        port = queue.get()
        endpoint, _ = endpoint_create(
            tenant=tenant, actor="bench", url=f"http://127.0.0.1:{port}/hooks"
        )
        sinks.append(process)
        logs.append((log_path, delay))
        pks.append(endpoint.pk)
    connection.close()
    stop_at = time.time() + seconds + 120  # a backstop: workers stop 10 s after the last event
    emitted_at = mp.Value("d", 0.0)
    procs = [mp.Process(target=_worker, args=(emitted_at, stop_at)) for _ in range(workers)]
    procs.append(mp.Process(target=_emitter, args=(emitted_at, rate, seconds)))
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    for p in sinks:
        p.terminate()

    with tenant_context(tenant):
        created = {e.event_id: e.created.timestamp() for e in Event.objects.all()}
    latencies, first, last = [], None, None
    for log_path, delay in logs:
        for line in Path(log_path).read_text().splitlines():
            event_id, at = line.split()
            at = float(at)
            if delay:
                continue
            latencies.append(at - created[event_id])
            first = at if first is None else min(first, at)
            last = at if last is None else max(last, at)
        os.unlink(log_path)
    emitted_for = (max(created.values()) - min(created.values())) if created else 0.0
    expected = len(created) * (endpoints - (1 if slow else 0))
    span = (last - first) if latencies else 0
    latencies.sort()
    p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000  # noqa: E731
    # On a busy machine the emitter itself may fall behind `rate`: what was offered is what it emitted.
    print(
        f"{label}: {len(created)} events emitted in {emitted_for:.1f} s"
        f" ({len(created) / emitted_for if emitted_for else 0:.0f}/s of {rate}/s asked)"
        f" x {endpoints} endpoints"
        f"{' (one answering in 5 s, excluded)' if slow else ''}: "
        f"{len(latencies)}/{expected} delivered in {span:.1f} s = "
        f"{len(latencies) / span if span else 0:.0f} deliveries/s; "
        f"event->delivery p50 {p(0.5):.0f} ms, p99 {p(0.99):.0f} ms, "
        f"mean {statistics.mean(latencies) * 1000 if latencies else 0:.0f} ms"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoints", type=int, default=8)
    parser.add_argument("--rate", type=int, default=80, help="events per second")
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--workers", type=int, default=2)
    options = parser.parse_args()

    services = Services()
    try:
        base_url = services.database_url(prefer_local=True, name="postgres")
        bench_url = (
            base_url.rsplit("/", 1)[0]
            + f"/{DB}"
            + ("?" + base_url.split("?", 1)[1] if "?" in base_url else "")
        )
        import psycopg

        with psycopg.connect(base_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {DB}")
        os.environ["DATABASE_URL"] = bench_url
        os.environ["REDIS_URL"] = services.redis_url(prefer_local=True, db=13)
        os.environ["CELERY_BROKER_URL"] = "memory://"  # the workers here are this script's
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "billing_project.settings")
        os.environ["LOG_LEVEL"] = "WARNING"
        os.environ["OUTBOUND_DEV_LOOPBACK"] = "1"  # the sinks are on loopback, as under make run
        manage = [sys.executable, "manage.py"]
        subprocess.run(manage + ["migrate_schemas", "--noinput", "-v", "0"], cwd=ROOT, check=True)
        _django()
        from tenants.services import tenant_create, tenant_template_ensure

        tenant_template_ensure(force=True)
        tenant_create(name="Bench hooks", slug="bench-hooks", email="hooks@bench.test")
        args = (options.endpoints, options.rate, options.seconds, options.workers)
        _run("run 1 (all sinks fast)", *args, slow=False)
        _run("run 2 (one sink 5 s)", *args, slow=True)
    finally:
        services.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
