"""Events list (filters, cursor pages), the streamed CSV report and `manage.py usage_report`."""

import csv
import io

import pytest
from django.core.management import call_command

from tests.conftest import assert_error
from tests.usage.conftest import event
from usage.services import usage_event_ingest_batch

pytestmark = pytest.mark.django_db


def test_events_list_filters_and_pages(owner_client, tenant):
    usage_event_ingest_batch(
        tenant=tenant,
        events=[event(quantity=str(i), transaction_id=f"t{i}") for i in range(5)]
        + [
            event(resource_type="storage_gb", quantity="3"),
            event(quantity="1", period_start="2024-01-02T00:00:00Z"),
        ],
    )
    first = owner_client.get("/api/v1/usage/events?resource_type=api_calls&limit=2")
    assert [e["transaction_id"] for e in first.json()] == [None, "t4"]
    assert 'rel="next"' in first["Link"]
    second = owner_client.get(first["Link"].split(">")[0][1:])
    assert [e["transaction_id"] for e in second.json()] == ["t3", "t2"]
    assert [
        e["quantity"]
        for e in owner_client.get("/api/v1/usage/events?resource_type=storage_gb").json()
    ] == ["3"]
    late = owner_client.get("/api/v1/usage/events?late=true").json()
    assert len(late) == 1 and late[0]["period_start"] == "2024-01-02T00:00:00Z"
    assert len(owner_client.get("/api/v1/usage/events?from=2024-01-01&to=2024-02-01").json()) == 1
    assert owner_client.get("/api/v1/usage/events?transaction_id=t1").json()[0]["quantity"] == "1"
    assert_error(owner_client.get("/api/v1/usage/events?from=garbage"), 400, "invalid_request")


def test_report_csv_streams_the_range(owner_client, tenant):
    usage_event_ingest_batch(
        tenant=tenant,
        events=[
            event(quantity="2.5", period_start="2024-01-02T00:00:00Z"),
            event(quantity="4", period_start="2024-02-02T00:00:00Z"),
        ],
    )
    response = owner_client.get("/api/v1/usage/report.csv?from=2024-01-01&to=2024-02-01")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [(r["resource_type"], r["quantity"], r["period_start"], r["late"]) for r in rows] == [
        ("api_calls", "2.5", "2024-01-02T00:00:00Z", "true")
    ]
    assert_error(
        owner_client.get("/api/v1/usage/report.csv?from=2024-02-01&to=2024-01-01"),
        400,
        "invalid_request",
    )


def test_usage_report_command_writes_the_period_as_csv(tenant, capsys):
    usage_event_ingest_batch(
        tenant=tenant,
        events=[
            event(quantity="7", period_start="2024-01-05T10:00:00Z"),
            event(quantity="1", period_start="2024-03-05T10:00:00Z"),
        ],
    )
    out = io.StringIO()
    call_command("usage_report", "--tenant", "acme", "--period", "2024-01", stdout=out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [(r["quantity"], r["period_start"]) for r in rows] == [("7", "2024-01-05T10:00:00Z")]
    assert "1/1 events" in capsys.readouterr().err
