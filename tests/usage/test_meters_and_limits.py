"""Aggregations, the summary with limits and status, alerts once, entitlement checks hard vs soft."""

from datetime import UTC, datetime

import pytest
from django_tenants.utils import tenant_context

from notifications.models import BillingEvent
from subscriptions.models import Plan
from tests.conftest import assert_error, change_published_elsewhere
from tests.usage.conftest import event
from usage import limits as usage_limits
from usage.models import Meter
from usage.services import usage_event_ingest, usage_event_ingest_batch

pytestmark = pytest.mark.django_db


def at(day: int, hour: int = 0) -> str:
    now = datetime.now(UTC)
    return now.replace(day=day, hour=hour, minute=0, second=0, microsecond=0).isoformat()


def summary_row(client, resource, period="current"):
    rows = client.get(f"/api/v1/usage/summary?period={period}").json()
    return next(r for r in rows if r["resource_type"] == resource)


def test_each_aggregation(owner_client, tenant):
    with tenant_context(tenant):
        for code, aggregation, prop in [
            ("jobs", "count", ""),
            ("cpu_peak", "max", ""),
            ("seats", "last", ""),
            ("projects", "unique_count", "project"),
            ("bytes", "sum", ""),
        ]:
            Meter.objects.create(
                code=code,
                display_name=code,
                unit="u",
                aggregation=aggregation,
                unique_property=prop,
            )
    events = [
        event(resource_type="jobs", quantity="5", period_start=at(1)),
        event(resource_type="jobs", quantity="9", period_start=at(1)),
        event(resource_type="cpu_peak", quantity="3.5", period_start=at(1)),
        event(resource_type="cpu_peak", quantity="7.25", period_start=at(1)),
        event(resource_type="cpu_peak", quantity="1", period_start=at(1)),
        # last = the latest by period_start, whatever the arrival order
        event(resource_type="seats", quantity="4", period_start=at(1, 2)),
        event(resource_type="seats", quantity="8", period_start=at(1, 1)),
        event(
            resource_type="projects", quantity="1", period_start=at(1), properties={"project": "a"}
        ),
        event(
            resource_type="projects", quantity="1", period_start=at(1), properties={"project": "b"}
        ),
        event(
            resource_type="projects", quantity="1", period_start=at(1), properties={"project": "a"}
        ),
        event(resource_type="bytes", quantity="0.5", period_start=at(1)),
        event(resource_type="bytes", quantity="0.25", period_start=at(1)),
    ]
    usage_event_ingest_batch(tenant=tenant, events=events[:5])
    usage_event_ingest_batch(tenant=tenant, events=events[5:])  # rollups merge across batches
    used = {r["resource_type"]: r["used"] for r in owner_client.get("/api/v1/usage/summary").json()}
    assert used["jobs"] == "2" and used["cpu_peak"] == "7.25" and used["seats"] == "4"
    assert used["projects"] == "2" and used["bytes"] == "0.75"


def test_builtin_meters_storage_is_max_users_unique_or_last(owner_client, tenant):
    for q in ("10", "30", "20"):
        usage_event_ingest(
            tenant=tenant, data=event(resource_type="storage_gb", quantity=q, period_start=at(1))
        )
    assert summary_row(owner_client, "storage_gb")["used"] == "30"
    usage_event_ingest(
        tenant=tenant, data=event(resource_type="users", quantity="3", period_start=at(1))
    )
    assert summary_row(owner_client, "users")["used"] == "3"  # a head count: last value
    for user in ("u1", "u2", "u1"):
        usage_event_ingest(
            tenant=tenant,
            data=event(
                resource_type="users",
                quantity="1",
                period_start=at(1),
                properties={"user_id": user},
            ),
        )
    assert summary_row(owner_client, "users")["used"] == "2"  # distinct user_id


def test_summary_lists_plan_limits_with_numbers_per_api_md(owner_client, tenant):
    # Without a subscription the tenant is on the free plan: api_calls 1000, storage_gb 1, users 2.
    usage_event_ingest(tenant=tenant, data=event(quantity="799"))
    row = summary_row(owner_client, "api_calls")
    assert (
        row["used"] == "799"
        and row["limit"] == "1000"
        and row["percent"] == "79.90"
        and row["status"] == "ok"
    )
    assert row["unit"] == "requests" and row["period_start"].endswith("T00:00:00Z")
    usage_event_ingest(tenant=tenant, data=event(quantity="1"))
    assert summary_row(owner_client, "api_calls")["status"] == "warning"
    usage_event_ingest(tenant=tenant, data=event(quantity="200.5"))
    row = summary_row(owner_client, "api_calls")
    assert (row["status"], row["percent"], row["used"]) == ("exceeded", "100.05", "1000.5")
    names = {r["resource_type"] for r in owner_client.get("/api/v1/usage/summary").json()}
    assert {"api_calls", "storage_gb", "users"} <= names
    assert_error(owner_client.get("/api/v1/usage/summary?period=2024-13"), 400, "invalid_request")


def test_unlimited_resource_has_null_limit_and_percent(owner_client, tenant, settings):
    Plan.objects.filter(code="free").update(limits={"api_calls": None})
    usage_event_ingest(tenant=tenant, data=event(quantity="5000"))
    row = summary_row(owner_client, "api_calls")
    assert (row["limit"], row["percent"], row["status"], row["used"]) == (None, None, "ok", "5000")


def test_thresholds_fire_once_each_as_billing_events(tenant, on_commit):
    with on_commit():
        usage_event_ingest(tenant=tenant, data=event(quantity="700"))
        usage_event_ingest(tenant=tenant, data=event(quantity="150"))  # 85%: threshold 80
        usage_event_ingest(tenant=tenant, data=event(quantity="10"))  # still above 80: nothing new
        usage_event_ingest_batch(tenant=tenant, events=[event(quantity="200")] * 2)  # 1260: 100
        usage_event_ingest(tenant=tenant, data=event(quantity="1"))
    with tenant_context(tenant):
        kinds = sorted(
            BillingEvent.objects.filter(kind__startswith="usage_").values_list(
                "kind", "data__threshold"
            )
        )
    assert kinds == [("usage_limit_exceeded", 100), ("usage_threshold_reached", 80)]


def test_thresholds_are_configurable_per_plan(tenant, on_commit):
    Plan.objects.filter(code="free").update(alert_thresholds=[50, 90, 100])
    with on_commit():
        usage_event_ingest(tenant=tenant, data=event(quantity="950"))
    with tenant_context(tenant):
        assert sorted(BillingEvent.objects.values_list("data__threshold", flat=True)) == [50, 90]


def test_entitlement_check_hard_limit_denies_beyond_it(ingest_client, tenant, on_commit):
    with on_commit():
        usage_event_ingest(tenant=tenant, data=event(quantity="998"))
    check = ingest_client.get("/api/v1/entitlements/check?resource=api_calls&quantity=2").json()
    assert check == {"allowed": True, "remaining": "2", "limit": "1000", "used": "998"}
    check = ingest_client.get("/api/v1/entitlements/check?resource=api_calls&quantity=3").json()
    assert check["allowed"] is False
    with on_commit():
        usage_event_ingest(tenant=tenant, data=event(quantity="2"))
    check = ingest_client.get("/api/v1/entitlements/check?resource=api_calls").json()
    assert check == {"allowed": False, "remaining": "0", "limit": "1000", "used": "1000"}


def test_entitlement_check_soft_limit_allows_and_reports_overage(owner_client, tenant, on_commit):
    Plan.objects.filter(code="free").update(hard_limits=["storage_gb", "users"])  # api_calls soft
    with on_commit():
        usage_event_ingest(tenant=tenant, data=event(quantity="1500"))
    check = owner_client.get("/api/v1/entitlements/check?resource=api_calls&quantity=10").json()
    assert check == {"allowed": True, "remaining": "0", "limit": "1000", "used": "1500"}


def test_entitlement_check_reads_redis_and_refills_from_the_rollup(owner_client, tenant):
    from billing_project.redis import get_redis

    # Ingested without running after-commit work: Redis has no counter, the rollup has the truth.
    usage_event_ingest(tenant=tenant, data=event(quantity="12"))
    assert owner_client.get("/api/v1/entitlements/check?resource=api_calls").json()["used"] == "12"
    keys = list(get_redis().scan_iter(match="*:t_acme:usage:api_calls:*"))
    assert len(keys) == 1 and get_redis().get(keys[0]) == b"12"


def test_entitlement_check_validation_and_roles(owner_client, viewer_client):
    assert_error(owner_client.get("/api/v1/entitlements/check"), 400, "invalid_request")
    assert_error(
        owner_client.get("/api/v1/entitlements/check?resource=nope"), 400, "invalid_request"
    )
    assert_error(
        owner_client.get("/api/v1/entitlements/check?resource=api_calls&quantity=-1"),
        400,
        "invalid_request",
    )
    assert viewer_client.get("/api/v1/entitlements/check?resource=api_calls").status_code == 200


def test_billing_period_follows_the_subscription_anchor():
    anchor = datetime(2024, 1, 31, 12, tzinfo=UTC)
    assert usage_limits.billing_period(datetime(2024, 3, 5, tzinfo=UTC), anchor) == (
        datetime(2024, 2, 29, 12, tzinfo=UTC),
        datetime(2024, 3, 31, 12, tzinfo=UTC),
    )
    assert usage_limits.billing_period(datetime(2024, 3, 5, tzinfo=UTC)) == (
        datetime(2024, 3, 1, tzinfo=UTC),
        datetime(2024, 4, 1, tzinfo=UTC),
    )


def test_the_summary_renders_as_drf_renders_it(owner_client, tenant):
    """UsageSummaryOutput renders without DRF's per-field machinery (issue 21, P3): each row,
    unlimited, warning and exceeded resources and fractional quantities included, is what DRF's own
    Serializer.to_representation gives, and the API answers it."""
    from rest_framework import serializers

    from usage.api.serializers import UsageSummaryOutput
    from usage.selectors import usage_summary_get

    Plan.objects.filter(code="free").update(limits={"api_calls": 1000, "users": None, "jobs": 3})
    usage_event_ingest(tenant=tenant, data=event(quantity="850.25"))
    usage_event_ingest(tenant=tenant, data=event(resource_type="users", quantity="7"))
    with tenant_context(tenant):
        summary = usage_summary_get(tenant=tenant)
    drf = [serializers.Serializer.to_representation(UsageSummaryOutput(), row) for row in summary]
    assert UsageSummaryOutput(summary, many=True).data == drf
    assert owner_client.get("/api/v1/usage/summary").json() == drf
    rows = {row["resource_type"]: row for row in drf}
    assert (rows["api_calls"]["used"], rows["api_calls"]["percent"]) == ("850.25", "85.03")
    assert (rows["users"]["limit"], rows["users"]["percent"]) == (None, None)
    assert rows["api_calls"]["period_start"].endswith("Z")


def test_a_flat_output_refuses_fields_it_would_render_wrongly():
    from rest_framework import serializers

    from billing_project.api.fields import FlatOutput

    class Nested(FlatOutput):
        inner = FlatOutput()

    class Sourced(FlatOutput):
        name = serializers.CharField(source="other")

    for output in (Nested, Sourced):
        with pytest.raises(TypeError, match="not a plain field"):
            _ = output({"inner": {}, "name": "x", "other": "y"}).data


def test_a_meter_change_applies_in_every_process_from_its_next_event(
    caching, tenant, ingest_client, django_capture_on_commit_callbacks
):
    """Meters are kept per process (ingest reads them on every event) until one changes: a save or
    delete anywhere drops every process's copy once committed (usage.signals)."""
    from usage.selectors import meters_get, meters_key

    def known() -> set[str]:
        with tenant_context(tenant):
            return set(meters_get(tenant=tenant))

    assert "storage_gb" in known()
    with tenant_context(tenant):
        Meter.objects.filter(code="storage_gb").update(is_active=False)  # no signal, no message
    assert "storage_gb" in known()  # this process's copy
    # Another worker deactivated it (the admin there) and published the tenant's meters key.
    change_published_elsewhere(meters_key(tenant.schema_name).encode())
    assert "storage_gb" not in known()
    refused = ingest_client.post(
        "/api/v1/usage", event(resource_type="storage_gb", unit="GB"), format="json"
    )
    assert_error(refused, 400, "invalid_request")

    # Here: a meter's save, then its delete, drop the copy once committed.
    with tenant_context(tenant):
        meter = Meter.objects.get(code="storage_gb")
        meter.is_active = True
        with django_capture_on_commit_callbacks(execute=True):
            meter.save()
    assert "storage_gb" in known()
    with tenant_context(tenant), django_capture_on_commit_callbacks(execute=True):
        Meter.objects.filter(code="storage_gb").delete()
    assert "storage_gb" not in known()
