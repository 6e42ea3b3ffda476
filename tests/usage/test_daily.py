"""The day-by-day series of a period (the portal's usage chart): kept with the events, read from
daily rollups, aggregated as each meter aggregates."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django_tenants.utils import tenant_context

from tests.usage.conftest import event
from usage.models import Meter, UsageDailyRollup
from usage.selectors import usage_daily_get
from usage.services import usage_event_ingest, usage_event_ingest_batch

pytestmark = pytest.mark.django_db


def at(day: int, hour: int = 0) -> str:
    now = datetime.now(UTC)
    return now.replace(day=day, hour=hour, minute=0, second=0, microsecond=0).isoformat()


def series_of(tenant, resource):
    return next(s for s in usage_daily_get(tenant=tenant) if s["resource_type"] == resource)


def by_day(series) -> dict[int, tuple[Decimal, Decimal]]:
    return {d["day"].day: (d["value"], d["cumulative"]) for d in series["days"]}


def test_sum_meter_runs_day_by_day_and_fills_empty_days(tenant):
    today = datetime.now(UTC).day
    if today < 3:
        pytest.skip("needs three days of the current month behind us")
    usage_event_ingest_batch(
        tenant=tenant,
        events=[
            event(quantity="10", period_start=at(1, 3)),
            event(quantity="5", period_start=at(1, 20)),
            event(quantity="7", period_start=at(3)),
        ],
    )
    api_calls = series_of(tenant, "api_calls")
    days = by_day(api_calls)
    assert days[1] == (Decimal(15), Decimal(15))
    assert days[2] == (Decimal(0), Decimal(15))
    assert days[3] == (Decimal(7), Decimal(22))
    # Every day of the period up to today, and the plan's limit for the dashed line.
    assert len(api_calls["days"]) == today
    assert api_calls["days"][-1]["cumulative"] == Decimal(22)
    assert api_calls["limit"] == 1000  # the free plan's limit (tenant without a subscription)
    assert api_calls["period_start"] == datetime.now(UTC).replace(
        day=1, hour=0, minute=0, second=0, microsecond=0
    )


def test_each_aggregation_runs_as_its_meter(tenant):
    if datetime.now(UTC).day < 2:
        pytest.skip("needs two days of the current month behind us")
    with tenant_context(tenant):
        for code, aggregation, prop in [
            ("jobs", "count", ""),
            ("cpu_peak", "max", ""),
            ("seats", "last", ""),
            ("projects", "unique_count", "project"),
        ]:
            Meter.objects.create(
                code=code,
                display_name=code,
                unit="u",
                aggregation=aggregation,
                unique_property=prop,
            )
    usage_event_ingest_batch(
        tenant=tenant,
        events=[
            event(resource_type="jobs", quantity="5", period_start=at(1)),
            event(resource_type="jobs", quantity="5", period_start=at(2)),
            event(resource_type="jobs", quantity="5", period_start=at(2)),
            event(resource_type="cpu_peak", quantity="9", period_start=at(1)),
            event(resource_type="cpu_peak", quantity="4", period_start=at(2)),
            event(resource_type="seats", quantity="8", period_start=at(1)),
            event(resource_type="seats", quantity="3", period_start=at(2, 5)),
            event(resource_type="seats", quantity="6", period_start=at(2, 1)),
            event(
                resource_type="projects",
                quantity="1",
                period_start=at(1),
                properties={"project": "a"},
            ),
            event(
                resource_type="projects",
                quantity="1",
                period_start=at(2),
                properties={"project": "a"},
            ),
            event(
                resource_type="projects",
                quantity="1",
                period_start=at(2),
                properties={"project": "b"},
            ),
        ],
    )
    assert by_day(series_of(tenant, "jobs"))[2] == (Decimal(2), Decimal(3))
    assert by_day(series_of(tenant, "cpu_peak"))[2] == (Decimal(4), Decimal(9))
    # last: the latest by period_start within the day, whatever the arrival order
    assert by_day(series_of(tenant, "seats"))[2] == (Decimal(3), Decimal(3))
    # unique: "a" was seen on day 1 already, so day 2 adds only "b"
    assert by_day(series_of(tenant, "projects"))[1] == (Decimal(1), Decimal(1))
    assert by_day(series_of(tenant, "projects"))[2] == (Decimal(1), Decimal(2))


def test_duplicates_do_not_count_on_their_day(tenant):
    with_tx, without = event(quantity="4", transaction_id="tx-1"), event(quantity="4")
    for _ in range(2):
        usage_event_ingest(tenant=tenant, data=with_tx)
        usage_event_ingest(tenant=tenant, data=without, idempotency_key="k-1")
    assert series_of(tenant, "api_calls")["days"][-1]["cumulative"] == Decimal(8)
    with tenant_context(tenant):
        assert UsageDailyRollup.objects.get(resource_type="api_calls").event_count == 2


def test_late_event_lands_on_its_own_day_of_its_own_period(tenant):
    last_month = datetime.now(UTC).replace(
        day=1, hour=12, minute=0, second=0, microsecond=0
    ) - timedelta(days=3)
    usage_event_ingest(
        tenant=tenant,
        data=event(
            quantity="6", period_start=last_month.isoformat(), period_end=last_month.isoformat()
        ),
    )
    assert series_of(tenant, "api_calls")["days"][-1]["cumulative"] == Decimal(0)
    previous = next(
        s
        for s in usage_daily_get(tenant=tenant, period=f"{last_month:%Y-%m}")
        if s["resource_type"] == "api_calls"
    )
    assert by_day(previous)[last_month.day] == (Decimal(6), Decimal(6))
    # A closed period shows all its days.
    assert previous["days"][-1]["day"] == (previous["period_end"] - timedelta(days=1)).date()


def test_tenants_see_only_their_days(tenant, other_tenant):
    usage_event_ingest(tenant=tenant, data=event(quantity="5"))
    assert series_of(other_tenant, "api_calls")["days"][-1]["cumulative"] == Decimal(0)
    assert series_of(tenant, "api_calls")["days"][-1]["cumulative"] == Decimal(5)
