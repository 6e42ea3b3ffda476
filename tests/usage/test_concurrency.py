"""20 concurrent clients re-sending the same 1,000 keys count exactly 1,000 events.

Each thread calls the ingest service on its own database connection, so the unique indexes and
`ON CONFLICT DO NOTHING` are exercised by really concurrent transactions. Those commits outlive
the test's rolled-back transaction, so the test works in globex and removes its rows afterwards.
"""

import threading
import uuid
from functools import partial

import pytest
from django.db import connection, connections
from django_tenants.utils import tenant_context

from tests.concurrency import at_once
from tests.usage.conftest import event
from usage.services import usage_event_ingest, usage_event_ingest_batch

pytestmark = pytest.mark.django_db

CLIENTS = 20
KEYS = 1000


def _cleanup(schema: str) -> None:
    with connections.create_connection("default").cursor() as cursor:
        for table in (
            "usage_usageevent",
            "usage_usageeventkey",
            "usage_usagerollup",
            "usage_usagedailyrollup",
            "usage_usageuniquevalue",
            "usage_usagealert",
        ):
            cursor.execute(f'DELETE FROM "{schema}".{table}')
        cursor.connection.commit()


@pytest.fixture
def committed_tenant(other_tenant, monkeypatch):
    # Alerts (tested elsewhere) would commit billing events and notifications into globex.
    monkeypatch.setattr("usage.services.ingest.usage_alerts_fire", lambda **kwargs: [])
    _cleanup(other_tenant.schema_name)
    yield other_tenant
    _cleanup(other_tenant.schema_name)


def _run_clients(work):
    """CLIENTS clients at once, each `work(n)` on a connection of its own."""
    at_once(*[partial(work, n) for n in range(CLIENTS)])


def _counted(tenant):
    conn = connections.create_connection("default")
    try:
        with conn.cursor() as cursor:
            cursor.execute(
                f'SELECT count(*), coalesce(sum(quantity), 0) FROM "{tenant.schema_name}".usage_usageevent'
            )
            events = cursor.fetchone()
            cursor.execute(
                f"SELECT coalesce(sum(event_count), 0), coalesce(sum(total), 0) "
                f'FROM "{tenant.schema_name}".usage_usagerollup'
            )
            return events, cursor.fetchone()
    finally:
        conn.close()


def test_20_clients_resending_the_same_1000_transaction_ids_count_1000(committed_tenant):
    run = uuid.uuid4().hex
    bodies = [event(quantity="1", transaction_id=f"{run}-{i}") for i in range(KEYS)]

    def work(n):
        # Every client sends all keys, in batches of 250, each client starting at another offset.
        order = bodies[n * 50 :] + bodies[: n * 50]
        for start in range(0, KEYS, 250):
            results = usage_event_ingest_batch(
                tenant=committed_tenant, events=order[start : start + 250]
            )
            assert all(
                r.status in ("accepted", "duplicate") and r.event["event_id"] for r in results
            )

    _run_clients(work)
    (events, quantity), (rolled_count, rolled_total) = _counted(committed_tenant)
    assert (events, quantity) == (KEYS, KEYS)
    assert (rolled_count, rolled_total) == (KEYS, KEYS)  # the rollup agrees with the events


def test_20_clients_resending_the_same_idempotency_keys_singly_count_once_each(committed_tenant):
    run = uuid.uuid4().hex
    keys = [f"{run}-{i}" for i in range(50)]
    body = event(quantity="2")
    seen: dict[str, set] = {}
    lock = threading.Lock()

    def work(n):
        for key in keys:
            stored, _created = usage_event_ingest(
                tenant=committed_tenant, data=body, idempotency_key=key
            )
            with lock:
                seen.setdefault(key, set()).add(stored["event_id"])

    _run_clients(work)
    assert all(len(ids) == 1 for ids in seen.values())  # every repeat answered with the original
    (events, quantity), (rolled_count, _) = _counted(committed_tenant)
    assert (events, quantity, rolled_count) == (50, 100, 50)
    with tenant_context(committed_tenant):
        assert connection.schema_name == committed_tenant.schema_name


def test_single_events_and_batches_on_the_same_rollup_and_day_at_once(committed_tenant):
    """Single events (one statement) and batches (one transaction) lock the period's rollup before
    the day's: concurrent ones queue instead of deadlocking, and the totals agree."""
    run = uuid.uuid4().hex

    def work(n):
        if n % 2:
            for i in range(40):
                usage_event_ingest(
                    tenant=committed_tenant,
                    data=event(quantity="1", transaction_id=f"{run}-s{n}-{i}"),
                )
        else:
            for b in range(4):
                usage_event_ingest_batch(
                    tenant=committed_tenant,
                    events=[
                        event(quantity="1", transaction_id=f"{run}-b{n}-{b}-{i}") for i in range(10)
                    ],
                )

    _run_clients(work)
    (events, quantity), (rolled_count, rolled_total) = _counted(committed_tenant)
    assert (events, quantity) == (CLIENTS * 40, CLIENTS * 40)
    assert (rolled_count, rolled_total) == (CLIENTS * 40, CLIENTS * 40)
    with connections.create_connection("default").cursor() as cursor:
        cursor.execute(
            f'SELECT sum(event_count), sum(total) FROM "{committed_tenant.schema_name}".usage_usagedailyrollup'
        )
        assert cursor.fetchone() == (CLIENTS * 40, CLIENTS * 40)
