"""The usage back-office works on one tenant's schema at a time."""

import pytest

from tests.usage.conftest import event
from usage.services import usage_event_ingest_batch

pytestmark = pytest.mark.django_db


def test_admin_lists_the_chosen_tenants_events_rollups_and_meters(
    admin_client, tenant, other_tenant
):
    usage_event_ingest_batch(tenant=tenant, events=[event(transaction_id="acme-tx-1")])
    usage_event_ingest_batch(tenant=other_tenant, events=[event(transaction_id="globex-tx-1")])
    response = admin_client.get("/admin/usage/usageevent/?tenant=acme", follow=True)
    assert response.status_code == 200
    page = response.content.decode()
    assert "acme-tx-1" in page and "globex-tx-1" not in page
    page = admin_client.get("/admin/usage/usageevent/?tenant=globex", follow=True).content.decode()
    assert "globex-tx-1" in page and "acme-tx-1" not in page
    assert admin_client.get("/admin/usage/usagerollup/").status_code == 200
    days = admin_client.get("/admin/usage/usagedailyrollup/")
    assert days.status_code == 200 and "api_calls" in days.content.decode()
    assert "api_calls" in admin_client.get("/admin/usage/meter/").content.decode()
    assert admin_client.get("/admin/usage/usagealert/").status_code == 200


def test_events_are_read_only_in_admin(admin_client, tenant):
    assert (
        admin_client.get("/admin/usage/usageevent/add/?tenant=acme", follow=True).status_code == 403
    )


def test_admin_shows_meter_push_failures_and_collector_runs(admin_client, tenant):
    from django_tenants.utils import tenant_context

    from usage.models import Collector, CollectorRun, MeterPush, UsageRollup

    usage_event_ingest_batch(tenant=tenant, events=[event(quantity="30")])
    with tenant_context(tenant):
        rollup_start = UsageRollup.objects.get().period_start
        MeterPush.objects.create(
            resource_type="api_calls",
            period_start=rollup_start,
            pushed_quantity=10,
            failures=2,
            last_error="api_calls: Stripe is down",
        )
        collector = Collector.objects.create(
            kind="netbox",
            name="nb-admin",
            base_url="http://nb.test",
            resource_type="users",
            target="dcim/devices",
        )
        CollectorRun.objects.create(
            collector=collector, started_at=rollup_start, status="failed", error="HTTP 502"
        )
    page = admin_client.get("/admin/usage/meterpush/?tenant=acme", follow=True).content.decode()
    assert "Stripe is down" in page and ">20<" in page.replace(
        ".000000", ""
    )  # 30 billable, 10 pushed
    page = admin_client.get("/admin/usage/collectorrun/", follow=True).content.decode()
    assert "HTTP 502" in page
    assert admin_client.get("/admin/usage/collector/add/").status_code == 200
