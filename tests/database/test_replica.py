"""Read replica (issue 20): with a replica configured, reads inside replica() (reports, CSV exports,
analytics) run on the replica's connection, in the same tenant schema as the primary's; every write
and every other read runs on the primary.

The "replica" here is a second connection to the test database, outside the test's transaction: it
sees what is committed, not what the test just wrote, exactly like a replica that has not caught up
yet. So a read that went to the wrong place shows in the data as well as in the captured queries.
"""

import uuid

import pytest
from django.contrib.auth.models import Group
from django.db import connections
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from billing_project.replica import (
    REPLICA,
    reads_from_replica,
    replica,
    replica_configured,
    stream_from_replica,
)
from tenants.models import Tenant

pytestmark = pytest.mark.django_db


@pytest.fixture
def replica_database(settings):
    config = dict(connections["default"].settings_dict)  # the test database, another session
    connections.settings[REPLICA] = config
    settings.DATABASES = {**settings.DATABASES, REPLICA: config}
    # Connected here: the test case's guard refuses to open a connection for an alias it was not
    # declared with (this one did not exist then), and lets an open one through.
    connections[REPLICA].connect()
    try:
        yield connections[REPLICA]
    finally:
        connections[REPLICA].close()
        del connections[REPLICA]
        del connections.settings[REPLICA]


def statements(captured) -> list[str]:
    """The statements a connection ran, by their first word, without django-tenants' SET search_path."""
    words = [query["sql"].split()[0].upper() for query in captured.captured_queries]
    return [word for word in words if word != "SET"]


@pytest.fixture
def queries(replica_database):
    with (
        CaptureQueriesContext(connections["default"]) as primary,
        CaptureQueriesContext(replica_database) as copy,
    ):
        yield primary, copy


def test_without_a_replica_everything_reads_the_primary():
    assert not replica_configured()
    name = f"group-{uuid.uuid4().hex[:8]}"
    Group.objects.create(name=name)
    with CaptureQueriesContext(connections["default"]) as primary, replica():
        assert Group.objects.filter(name=name).exists()
    assert len(primary.captured_queries) == 1


def test_reads_in_replica_go_to_the_replica_and_the_rest_to_the_primary(queries):
    primary, copy = queries
    name = f"group-{uuid.uuid4().hex[:8]}"
    Group.objects.create(name=name)  # a write: the primary (not committed: the replica lags)

    assert Group.objects.filter(name=name).exists()  # read-your-writes: the primary sees it
    with replica():
        assert not Group.objects.filter(name=name).exists()  # the replica has not got it
        assert Tenant.objects.filter(slug="acme").exists()  # committed data is there
    assert statements(primary) == ["INSERT", "SELECT"]
    assert statements(copy) == ["SELECT", "SELECT"]


def test_writes_inside_replica_still_go_to_the_primary(queries):
    primary, copy = queries
    name = f"group-{uuid.uuid4().hex[:8]}"
    with replica():
        group = Group.objects.create(name=name)
        group.name = name + "-renamed"
        group.save()
    assert Group.objects.filter(name=name + "-renamed").exists()
    assert statements(copy) == []
    assert statements(primary)[:2] == ["INSERT", "UPDATE"]


def test_the_replica_reads_the_tenant_schema_the_primary_is_in(queries, tenant, other_tenant):
    from usage.models import UsageEvent

    primary, copy = queries

    @reads_from_replica
    def events_report():
        return UsageEvent.objects.count()

    for current in (tenant, other_tenant):
        with tenant_context(current):
            events_report()
            assert connections[REPLICA].schema_name == current.schema_name
    assert len(copy.captured_queries) >= 2 and not any(
        "usage_" in q["sql"] for q in primary.captured_queries
    )


def test_a_streamed_export_reads_the_replica_while_it_streams(queries):
    primary, copy = queries
    name = f"group-{uuid.uuid4().hex[:8]}"
    Group.objects.create(name=name)
    rows = stream_from_replica(
        Group.objects.filter(name__in=[name, "finance"]).values_list("name", flat=True)
    )
    assert list(rows) == ["finance"]  # read when iterated: on the replica, without the new row
    assert copy.captured_queries and "auth_group" in copy.captured_queries[-1]["sql"]


def test_the_analytics_figures_read_the_replica(queries):
    from datetime import date

    from analytics import selectors

    primary, copy = queries
    selectors.monthly_figures(start=date(2026, 1, 1), end=date(2026, 3, 31))
    selectors.status_counts(as_of=date(2026, 3, 31))
    selectors.receivables(as_of=date(2026, 3, 31))
    read = " ".join(q["sql"] for q in copy.captured_queries)
    assert "analytics_mrrmovement" in read and "analytics_invoicefact" in read
    assert not any("analytics_" in q["sql"] for q in primary.captured_queries)


def test_the_usage_csv_export_reads_the_replica_while_it_streams(queries, owner_client):
    primary, copy = queries
    response = owner_client.get("/api/v1/usage/report.csv")
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode()
    assert body.splitlines()[0].startswith("event_id") or body.splitlines()[0]
    assert any("usage_usageevent" in q["sql"] for q in copy.captured_queries)
    assert not any("usage_usageevent" in q["sql"] for q in primary.captured_queries)
