"""/metrics: usage by plan and resource (never by tenant), MRR and this month's movements per
currency from the finance facts, read from a real scrape."""

from datetime import UTC, date, datetime

import pytest
from prometheus_client.parser import text_string_to_metric_families

from analytics.metrics import analytics_metrics_refresh
from analytics.mrr import Snapshot
from analytics.services import movement_apply
from billing_project.business_metrics import COUNTERS, GAUGES, series_key
from billing_project.redis import get_redis


@pytest.fixture
def clean_series():
    keys = [series_key(name) for name in (*COUNTERS, *GAUGES)]
    get_redis().delete(*keys)
    yield
    get_redis().delete(*keys)


def samples(client, name):
    text = client.get("/metrics").content.decode()
    return {
        tuple(sorted(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    }


def test_usage_is_counted_by_plan_and_resource_never_by_tenant(
    db, clean_series, tenant, owner_client, api_client, django_capture_on_commit_callbacks
):
    from django_tenants.utils import tenant_context

    from usage.models import Meter

    with tenant_context(tenant):  # a tenant's own meter: not in the plan's catalog
        Meter.objects.create(
            code="tenant_made_up_resource", display_name="Made up", aggregation="sum"
        )
    body = {
        "resource_type": "api_calls",
        "quantity": "12.5",
        "unit": "calls",
        "period_start": "2026-01-15T10:00:00Z",
        "period_end": "2026-01-15T10:00:00Z",
        "source": "test",
    }
    with django_capture_on_commit_callbacks(execute=True):
        assert owner_client.post("/api/v1/usage", body, format="json").status_code == 201
        custom = {**body, "resource_type": "tenant_made_up_resource", "quantity": "2"}
        assert owner_client.post("/api/v1/usage", custom, format="json").status_code == 201
    events = samples(api_client, "billing_usage_events_total")
    quantity = samples(api_client, "billing_usage_quantity_total")
    assert events == {
        (("plan_id", "free"), ("resource_type", "api_calls")): 1.0,
        (("plan_id", "free"), ("resource_type", "other")): 1.0,
    }
    assert quantity[(("plan_id", "free"), ("resource_type", "api_calls"))] == 12.5


def test_mrr_and_this_months_movements_per_currency(
    db, clean_series, tenant, other_tenant, api_client
):
    def at(day):
        return datetime(2026, 3, day, 12, tzinfo=UTC)

    movement_apply(
        tenant=tenant,
        snapshot=Snapshot("s1", "active", "starter", "monthly", "usd", 2900),
        at=at(2),
    )
    movement_apply(
        tenant=other_tenant,
        snapshot=Snapshot("s2", "active", "pro", "monthly", "eur", 9900),
        at=at(3),
    )
    movement_apply(
        tenant=other_tenant,
        snapshot=Snapshot("s2", "active", "starter", "monthly", "eur", 2500),
        at=at(9),
    )
    analytics_metrics_refresh(today=date(2026, 3, 20))
    assert samples(api_client, "billing_mrr_dollars") == {
        (("currency", "eur"),): 25.0,
        (("currency", "usd"),): 29.0,
    }
    movements = samples(api_client, "billing_mrr_movements_dollars")
    assert movements[(("currency", "eur"), ("kind", "new"))] == 99.0
    assert movements[(("currency", "eur"), ("kind", "contraction"))] == -74.0
    assert movements[(("currency", "usd"), ("kind", "churn"))] == 0.0
