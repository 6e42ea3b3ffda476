"""The usage events table partitioned by month (usage.partitions): events land in their month's
partition, keys stay unique across months, partitions are made ahead idempotently, and invoiced
months are archived to object storage (usage_archive) while totals stay exact.

Every date is fixed (2030): the tenant's clock is given to the services, never read from the day.
"""

import csv
import gzip
import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django_tenants.utils import tenant_context

from billing_project.errors import Conflict
from tests.usage.conftest import event
from usage import partitions
from usage.models import UsageEvent, UsageEventKey
from usage.selectors import usage_summary_get
from usage.services import (
    usage_archive,
    usage_event_ingest,
    usage_event_ingest_batch,
    usage_partitions_ensure,
)

pytestmark = pytest.mark.django_db

JAN = datetime(2030, 1, 15, 12, tzinfo=UTC)
FEB = datetime(2030, 2, 15, 12, tzinfo=UTC)
MAR = datetime(2030, 3, 15, 12, tzinfo=UTC)
APR = datetime(2030, 4, 10, 12, tzinfo=UTC)


def _at(when: datetime, **overrides) -> dict:
    return event(period_start=when.isoformat(), period_end=when.isoformat(), **overrides)


def _ingest(tenant, when: datetime, *, now: datetime | None = None, key=None, **overrides):
    return usage_event_ingest(
        tenant=tenant, data=_at(when, **overrides), idempotency_key=key, now=now or when
    )


def _partition_of(tenant, event_id) -> str:
    with tenant_context(tenant), connection.cursor() as cursor:
        cursor.execute(
            "SELECT tableoid::regclass::text FROM usage_usageevent WHERE event_id = %s",
            [event_id],
        )
        return cursor.fetchone()[0]


def _exists(tenant, table: str) -> bool:
    with tenant_context(tenant), connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [table])
        return cursor.fetchone()[0]


def _ours(outcomes) -> list:
    # The schema also has the partitions its migration made around the real day: not these tests'.
    return [(o.month, o.status, o.rows) for o in outcomes if o.month.startswith("2030")]


def _our_keys(bucket) -> list[str]:
    return [key for key in bucket.keys() if "_p2030_" in key]


def _api_calls(tenant, period: str) -> Decimal:
    with tenant_context(tenant):
        rows = usage_summary_get(tenant=tenant, period=period)
    return next((r.used for r in rows if r.resource_type == "api_calls"), Decimal(0))


@pytest.fixture
def months(tenant):
    """Partitions of January to May 2030 (made as beat would, in January and in March)."""
    usage_partitions_ensure(tenant=tenant, now=JAN)
    usage_partitions_ensure(tenant=tenant, now=MAR)
    return tenant


def test_the_events_table_is_partitioned_by_month_with_a_default_partition(tenant):
    with tenant_context(tenant), connection.cursor() as cursor:
        assert partitions.is_partitioned(cursor)
        cursor.execute("SELECT pg_get_partkeydef('usage_usageevent'::regclass)")
        assert cursor.fetchone()[0] == "RANGE (period_start)"
    assert _exists(tenant, "usage_usageevent_default")


def test_events_land_in_their_months_partition(months):
    january = _ingest(months, datetime(2030, 1, 31, 23, 59, 59, tzinfo=UTC))[0]
    february = _ingest(months, datetime(2030, 2, 1, tzinfo=UTC))[0]
    far = _ingest(months, datetime(2031, 7, 1, tzinfo=UTC), now=datetime(2031, 7, 1, tzinfo=UTC))[0]

    assert _partition_of(months, january["event_id"]) == "usage_usageevent_p2030_01"
    assert _partition_of(months, february["event_id"]) == "usage_usageevent_p2030_02"
    # No partition for that month yet: kept by the DEFAULT partition, not lost.
    assert _partition_of(months, far["event_id"]) == "usage_usageevent_default"


def test_a_transaction_id_is_refused_in_another_month(months):
    first, created = _ingest(months, JAN, transaction_id="tx-1", quantity="5")
    assert created

    again, created = _ingest(months, FEB, transaction_id="tx-1", quantity="5")

    assert not created and again["event_id"] == first["event_id"]
    results = usage_event_ingest_batch(
        tenant=months, events=[_at(MAR, transaction_id="tx-1"), _at(MAR)], now=MAR
    )
    assert [r.status for r in results] == ["duplicate", "accepted"]
    assert results[0].event == {"event_id": first["event_id"]}
    with tenant_context(months):
        assert UsageEvent.objects.filter(transaction_id="tx-1").count() == 1
    assert _api_calls(months, "2030-01") == 5
    assert _api_calls(months, "2030-02") == 0
    assert _api_calls(months, "2030-03") == 1


def test_an_idempotency_key_is_refused_in_another_month(months):
    _ingest(months, JAN, key="key-1")

    with pytest.raises(Conflict) as refused:
        _ingest(months, FEB, key="key-1")

    assert refused.value.code == "idempotency_conflict"
    assert _api_calls(months, "2030-02") == 0
    with tenant_context(months):
        assert UsageEvent.objects.filter(idempotency_key="key-1").count() == 1


def test_both_keys_are_checked_and_nothing_is_half_stored(months):
    _ingest(months, JAN, key="key-2")

    with pytest.raises(Conflict):
        _ingest(months, FEB, key="key-2", transaction_id="tx-new")

    # The refused event's transaction_id was not taken by it.
    _, created = _ingest(months, FEB, transaction_id="tx-new")
    assert created
    with tenant_context(months):
        assert UsageEventKey.objects.filter(key="t:tx-new").count() == 1


def test_ensuring_partitions_is_idempotent(tenant):
    created = usage_partitions_ensure(tenant=tenant, now=JAN)
    assert created == [
        "usage_usageevent_p2030_01",
        "usage_usageevent_p2030_02",
        "usage_usageevent_p2030_03",
    ]
    assert usage_partitions_ensure(tenant=tenant, now=JAN) == []
    assert usage_partitions_ensure(tenant=tenant, now=FEB) == ["usage_usageevent_p2030_04"]
    with tenant_context(tenant), connection.cursor() as cursor:
        months = [p.month for p in partitions.partitions_list(cursor)]
    assert months[-4:] == ["2030-01", "2030-02", "2030-03", "2030-04"]


def test_the_beat_task_is_scheduled_and_ensures_the_months(tenant, monkeypatch):
    from billing_project.celery import app
    from usage import tasks

    assert any(
        entry["task"] == "usage.tasks.usage_partitions_ensure"
        for entry in app.conf.beat_schedule.values()
    )
    monkeypatch.setattr("usage.services.partitions._tenant_now", lambda tenant: JAN)
    with tenant_context(tenant):
        tasks.usage_partitions_ensure.apply()
    assert _exists(tenant, "usage_usageevent_p2030_03")


def test_a_new_month_takes_over_its_events_from_the_default_partition(tenant):
    june = datetime(2030, 6, 5, tzinfo=UTC)
    stored = _ingest(tenant, june, transaction_id="tx-june", quantity="3")[0]
    assert _partition_of(tenant, stored["event_id"]) == "usage_usageevent_default"

    assert "usage_usageevent_p2030_06" in usage_partitions_ensure(tenant=tenant, now=june)

    assert _partition_of(tenant, stored["event_id"]) == "usage_usageevent_p2030_06"
    assert _ingest(tenant, june, transaction_id="tx-june", quantity="3")[1] is False
    assert _api_calls(tenant, "2030-06") == 3


def test_archive_dry_run_changes_nothing(months, s3_storage):
    _ingest(months, JAN, transaction_id="tx-a")

    outcomes = usage_archive(
        tenant=months, before=datetime(2030, 3, 1, tzinfo=UTC), dry_run=True, now=APR
    )

    assert _ours(outcomes) == [
        ("2030-01", "would_archive", 1),
        ("2030-02", "would_archive", 0),
    ]
    assert _exists(months, "usage_usageevent_p2030_01")
    with tenant_context(months):
        assert UsageEvent.objects.filter(transaction_id="tx-a").exists()
    assert s3_storage.keys() == []


def test_archive_dumps_an_invoiced_month_to_object_storage_and_drops_it(months, s3_storage):
    for n in range(3):
        _ingest(months, JAN, transaction_id=f"jan-{n}", quantity="2")
    _ingest(months, FEB, transaction_id="feb-0", quantity="7")
    _ingest(months, MAR, transaction_id="mar-0", quantity="1")
    before = {p: _api_calls(months, p) for p in ("2030-01", "2030-02", "2030-03")}

    outcomes = usage_archive(tenant=months, before=datetime(2030, 3, 1, tzinfo=UTC), now=APR)

    assert _ours(outcomes) == [
        ("2030-01", "archived", 3),
        ("2030-02", "archived", 1),
    ]
    key = "usage-archive/t_acme/usage_usageevent_p2030_01.csv.gz"
    assert _our_keys(s3_storage) == [key, "usage-archive/t_acme/usage_usageevent_p2030_02.csv.gz"]
    rows = list(csv.DictReader(io.StringIO(gzip.decompress(s3_storage.read(key)).decode())))
    assert sorted(r["transaction_id"] for r in rows) == ["jan-0", "jan-1", "jan-2"]
    assert {r["quantity"] for r in rows} == {"2.000000"}
    assert not _exists(months, "usage_usageevent_p2030_01")
    assert not _exists(months, "usage_usageevent_p2030_02")
    with tenant_context(months):
        assert list(UsageEvent.objects.values_list("transaction_id", flat=True)) == ["mar-0"]
    # Totals come from the rollups: the same after the archive.
    assert (
        {p: _api_calls(months, p) for p in before}
        == before
        == {
            "2030-01": 6,
            "2030-02": 7,
            "2030-03": 1,
        }
    )
    # A retry of an archived event is still refused, and counts nothing.
    with pytest.raises(Conflict) as refused:
        _ingest(months, JAN, now=APR, transaction_id="jan-0", quantity="2")
    assert refused.value.code == "event_archived"
    results = usage_event_ingest_batch(
        tenant=months, events=[_at(FEB, transaction_id="feb-0")], now=APR
    )
    assert results[0].status == "duplicate" and results[0].event["event_id"]
    assert _api_calls(months, "2030-04") == 0


def test_archive_refuses_months_with_usage_not_invoiced(months, s3_storage):
    _ingest(months, MAR, transaction_id="mar-1")
    # A late event of January, received in April: billed by April's invoice, not cut yet.
    late = _ingest(months, JAN, now=APR, transaction_id="jan-late")[0]
    assert late["late"] is True

    outcomes = usage_archive(tenant=months, before=datetime(2030, 5, 1, tzinfo=UTC), now=APR)

    by_month = {o.month: o for o in outcomes}
    assert by_month["2030-01"].status == "refused"
    assert (
        "1 event(s) counted or billed in a billing period not invoiced"
        in by_month["2030-01"].reason
    )
    assert by_month["2030-04"].status == "refused"  # April's period is still open
    assert by_month["2030-02"].status == "archived" and by_month["2030-03"].status == "archived"
    assert _exists(months, "usage_usageevent_p2030_01")
    assert _exists(months, "usage_usageevent_p2030_04")
    assert _our_keys(s3_storage) == [
        "usage-archive/t_acme/usage_usageevent_p2030_02.csv.gz",
        "usage-archive/t_acme/usage_usageevent_p2030_03.csv.gz",
    ]


def test_the_command_dry_run_and_refusal(months, s3_storage, monkeypatch, capsys):
    monkeypatch.setattr("usage.services.partitions._tenant_now", lambda tenant: APR)
    _ingest(months, JAN, transaction_id="jan-cmd")

    call_command("usage_archive", "--before", "2030-02", "--dry-run", "--tenant", "acme")
    assert "acme 2030-01 (usage_usageevent_p2030_01, 1 events): would be archived" in (
        capsys.readouterr().out
    )
    assert _exists(months, "usage_usageevent_p2030_01")

    with pytest.raises(CommandError, match="1 month"):
        call_command("usage_archive", "--before", "2030-05", "--tenant", "acme")
    err = capsys.readouterr().err
    assert "acme 2030-04" in err and "refused" in err
    assert not _exists(months, "usage_usageevent_p2030_01")
    with pytest.raises(CommandError, match="YYYY-MM"):
        call_command("usage_archive", "--before", "2030-13")


@pytest.fixture
def migration_sequence_kept(tenant):
    """Re-recording migrations draws ids from the schema's django_migrations sequence, which the
    test's rollback does not give back: it is put back (setval is not transactional either)."""
    with tenant_context(tenant), connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_serial_sequence('django_migrations', 'id')")
        sequence = cursor.fetchone()[0]
        cursor.execute(f"SELECT last_value, is_called FROM {sequence}")
        value, called = cursor.fetchone()
    yield
    with connection.cursor() as cursor:
        cursor.execute("SELECT setval(%s, %s, %s)", [sequence, value, called])


def test_the_migration_converts_a_table_with_data(tenant, migration_sequence_kept):
    with tenant_context(tenant):
        executor = MigrationExecutor(connection)
        executor.migrate([("usage", "0005_collector_platform")])
        executor.loader.build_graph()
        with connection.cursor() as cursor:
            assert not partitions.is_partitioned(cursor)
            cursor.execute(
                "INSERT INTO usage_usageevent (event_id, resource_type, quantity, unit, period_start, "
                "period_end, source, transaction_id, idempotency_key, fingerprint, properties, "
                "billing_period_start, late, billed_period_start, received_at) "
                "SELECT gen_random_uuid(), 'api_calls', 1, '', t, t, 'old', 'old-' || n, NULL, '', '{}', "
                "date_trunc('month', t), false, date_trunc('month', t), t "
                "FROM (SELECT n, timestamptz '2029-11-20 00:00+00' + n * interval '20 days' AS t "
                "FROM generate_series(1, 5) AS n) AS s"
            )
        executor.migrate([("usage", "0007_partition_usage_events")])
        with connection.cursor() as cursor:
            assert partitions.is_partitioned(cursor)
            cursor.execute(
                "SELECT tableoid::regclass::text, count(*) FROM usage_usageevent GROUP BY 1 ORDER BY 1"
            )
            assert cursor.fetchall() == [
                ("usage_usageevent_p2029_12", 2),
                ("usage_usageevent_p2030_01", 1),
                ("usage_usageevent_p2030_02", 2),
            ]
        assert UsageEventKey.objects.filter(key__startswith="t:old-").count() == 5
    # The converted keys still refuse a retry, in any month.
    again, created = _ingest(tenant, APR, transaction_id="old-1")
    assert not created and again["source"] == "old"
    stored = _ingest(tenant, APR, transaction_id="new-1")[0]
    with tenant_context(tenant):
        assert UsageEvent.objects.get(event_id=stored["event_id"]).id > 0


def test_the_events_list_finds_an_event_by_transaction_id_in_any_month(months, owner_client):
    _ingest(months, JAN, transaction_id="find-me")
    _ingest(months, FEB, transaction_id="not-me")

    response = owner_client.get("/api/v1/usage/events?transaction_id=find-me")

    assert response.status_code == 200, response.content
    assert [e["transaction_id"] for e in response.json()] == ["find-me"]
