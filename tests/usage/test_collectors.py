"""NetBox and Odoo collectors against local fake servers, and `manage.py usage_reconcile`."""

import io
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django_tenants.utils import tenant_context

from tests.usage.conftest import event
from tests.usage.fakes import FakeNetBox, FakeOdoo
from usage.models import Collector, CollectorRun, Meter
from usage.services import collector_create, usage_collectors_run_due, usage_event_ingest

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def outbound_allowed(settings):
    """The outbound URL policy refuses loopback and plain http: the fakes' ports (and the closed port 9
    of the "down" collector) are let through one by one."""
    settings.OUTBOUND_ALLOW_HTTP = True
    settings.OUTBOUND_ALLOW_PRIVATE_HOSTS = ["127.0.0.1:9"]
    return settings.OUTBOUND_ALLOW_PRIVATE_HOSTS


@pytest.fixture
def netbox(outbound_allowed):
    server = FakeNetBox(token="nbt_0123456789", counts={"dcim/devices": 42, "dcim/sites": 3})
    outbound_allowed.append(f"127.0.0.1:{server.httpd.server_address[1]}")
    yield server
    server.close()


@pytest.fixture
def odoo(outbound_allowed):
    server = FakeOdoo(
        database="prod", login="bot@acme.test", api_key="odoo-key-abc", counts={"res.users": 17}
    )
    outbound_allowed.append(f"127.0.0.1:{server.httpd.server_address[1]}")
    yield server
    server.close()


@pytest.fixture
def devices_meter(tenant):
    with tenant_context(tenant):
        Meter.objects.create(
            code="devices", display_name="Devices", unit="devices", aggregation="last"
        )


def test_netbox_and_odoo_counts_become_usage(tenant, netbox, odoo, devices_meter, owner_client):
    collector_create(
        tenant=tenant,
        kind="netbox",
        name="netbox devices",
        base_url=netbox.url,
        resource_type="devices",
        target="dcim/devices",
        secret="nbt_0123456789",
        filters={"status": "active"},
    )
    collector_create(
        tenant=tenant,
        kind="odoo",
        name="odoo users",
        base_url=odoo.url,
        resource_type="users",
        target="res.users",
        secret="odoo-key-abc",
        odoo_database="prod",
        odoo_login="bot@acme.test",
        filters={"domain": [["active", "=", True], ["share", "=", False]]},
    )
    runs = usage_collectors_run_due(tenant=tenant)
    assert sorted((r.collector.name, r.status, r.count) for r in runs) == [
        ("netbox devices", "ok", 42),
        ("odoo users", "ok", 17),
    ]
    assert netbox.requests[0][:2] == ("/api/dcim/devices/", {"status": ["active"], "limit": ["1"]})
    assert odoo.requests[1]["params"]["args"][3:5] == ["res.users", "search_count"]
    used = {r["resource_type"]: r["used"] for r in owner_client.get("/api/v1/usage/summary").json()}
    assert used["devices"] == "42" and used["users"] == "17"
    # Not due again within the interval; a forced re-run in the same slot counts once.
    assert usage_collectors_run_due(tenant=tenant) == []
    with tenant_context(tenant):
        Collector.objects.update(last_run_at=None)
    assert len(usage_collectors_run_due(tenant=tenant)) == 2
    events = owner_client.get("/api/v1/usage/events?resource_type=devices").json()
    assert len(events) == 1 and events[0]["source"] == "netbox:netbox devices"


def test_secrets_are_encrypted_at_rest(tenant, netbox):
    collector = collector_create(
        tenant=tenant,
        kind="netbox",
        name="nb",
        base_url=netbox.url,
        resource_type="api_calls",
        target="dcim/sites",
        secret="nbt_0123456789",
    )
    with tenant_context(tenant):
        stored = Collector.objects.values_list("secret_ciphertext", flat=True).get(pk=collector.pk)
    assert stored and "nbt_0123456789" not in stored


def test_failures_are_recorded_on_the_run(tenant, netbox, odoo):
    collector_create(
        tenant=tenant,
        kind="netbox",
        name="bad token",
        base_url=netbox.url,
        resource_type="api_calls",
        target="dcim/devices",
        secret="wrong",
    )
    collector_create(
        tenant=tenant,
        kind="odoo",
        name="bad key",
        base_url=odoo.url,
        resource_type="users",
        target="res.users",
        secret="wrong",
        odoo_database="prod",
        odoo_login="bot@acme.test",
    )
    collector_create(
        tenant=tenant,
        kind="netbox",
        name="down",
        base_url="http://127.0.0.1:9",
        resource_type="api_calls",
        target="dcim/devices",
        secret="x",
    )
    runs = {r.collector.name: r for r in usage_collectors_run_due(tenant=tenant)}
    assert {name: r.status for name, r in runs.items()} == {
        "bad token": "failed",
        "bad key": "failed",
        "down": "failed",
    }
    assert "authentication refused" in runs["bad token"].error
    assert "authentication refused" in runs["bad key"].error
    with tenant_context(tenant):
        assert CollectorRun.objects.filter(status="ok").count() == 0


def test_reconcile_prints_the_drift_per_tenant_and_resource(tenant, netbox, devices_meter):
    collector_create(
        tenant=tenant,
        kind="netbox",
        name="netbox devices",
        base_url=netbox.url,
        resource_type="devices",
        target="dcim/devices",
        secret="nbt_0123456789",
    )
    usage_collectors_run_due(tenant=tenant)
    out = io.StringIO()
    call_command("usage_reconcile", "--period", "current", "--tenant", "acme", stdout=out)
    line = next(ln for ln in out.getvalue().splitlines() if "netbox devices" in ln)
    assert line.split()[-4:] == ["42", "-", "0", "0"]
    # Another source reports a different device count later in the period: billed 45, seen 42.
    later = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
    usage_event_ingest(
        tenant=tenant,
        data=event(resource_type="devices", quantity="45", period_start=later, period_end=later),
    )
    out = io.StringIO()
    with pytest.raises(SystemExit) as exit_code:
        call_command("usage_reconcile", "--period", "current", "--tenant", "acme", stdout=out)
    assert exit_code.value.code == 1
    line = next(ln for ln in out.getvalue().splitlines() if "netbox devices" in ln)
    assert "DRIFT" in line and " 3 " in f" {line} "


@pytest.fixture
def platform(settings, netbox, odoo):
    """NetBox and Odoo of the platform itself, configured by the environment's settings."""
    netbox.counts["dcim/devices"] = {"acme": 5, "globex": 2}
    odoo.counts["res.users"] = {"acme": 3, "globex": 9}
    settings.NETBOX_API_URL, settings.NETBOX_API_TOKEN = netbox.url, "nbt_0123456789"
    settings.ODOO_API_URL, settings.ODOO_API_KEY = odoo.url, "odoo-key-abc"
    settings.ODOO_DATABASE, settings.ODOO_LOGIN = "prod", "bot@acme.test"
    return settings


def test_platform_collectors_from_the_environment_count_each_tenants_share(
    platform, tenant, other_tenant, netbox, odoo, devices_meter, owner_client
):
    # The tenant's own collector stays, beside the platform's.
    collector_create(
        tenant=tenant,
        kind="netbox",
        name="own sites",
        base_url=netbox.url,
        resource_type="api_calls",
        target="dcim/sites",
        secret="nbt_0123456789",
    )
    runs = usage_collectors_run_due(tenant=tenant)
    assert sorted((r.collector.name, r.collector.platform, r.status, r.count) for r in runs) == [
        ("own sites", False, "ok", 3),
        ("platform netbox", True, "ok", 5),
        ("platform odoo", True, "ok", 3),
    ]
    # Mapped by the documented fields: NetBox tenant slug, Odoo partner Reference = the tenant's slug.
    assert (
        "/api/dcim/devices/",
        {"tenant": ["acme"], "limit": ["1"]},
        "Token nbt_0123456789",
    ) in netbox.requests
    assert odoo.requests[-1]["params"]["args"][3:6] == [
        "res.users",
        "search_count",
        [[["partner_id.commercial_partner_id.ref", "=", "acme"]]],
    ]
    used = {r["resource_type"]: r["used"] for r in owner_client.get("/api/v1/usage/summary").json()}
    assert used["devices"] == "5" and used["users"] == "3"

    with tenant_context(other_tenant):
        Meter.objects.create(
            code="devices", display_name="Devices", unit="devices", aggregation="last"
        )
    runs = usage_collectors_run_due(tenant=other_tenant)
    assert sorted((r.collector.name, r.count) for r in runs) == [
        ("platform netbox", 2),
        ("platform odoo", 9),
    ]

    # Unset in the environment: the platform rows stop, the tenant's own collector goes on.
    platform.NETBOX_API_URL = platform.ODOO_API_URL = ""
    with tenant_context(tenant):
        Collector.objects.update(last_run_at=None)
    assert [r.collector.name for r in usage_collectors_run_due(tenant=tenant)] == ["own sites"]
    with tenant_context(tenant):
        assert not Collector.objects.filter(platform=True, is_active=True).exists()


def test_the_admin_shows_the_platform_collectors_read_only(
    platform, admin_client, tenant, devices_meter
):
    usage_collectors_run_due(tenant=tenant)
    page = admin_client.get("/admin/usage/collector/?tenant=acme", follow=True).content.decode()
    assert (
        "Platform collector from the environment" in page
        and "whose NetBox tenant slug is the tenant&#x27;s slug" in page
    )
    assert "platform netbox" in page and "platform odoo" in page
    with tenant_context(tenant):
        row = Collector.objects.get(name="platform netbox")
    change = admin_client.get(f"/admin/usage/collector/{row.pk}/change/?tenant=acme", follow=True)
    assert (
        change.status_code == 200 and 'name="base_url"' not in change.content.decode()
    )  # view only

    platform.ODOO_DATABASE = ""
    page = admin_client.get("/admin/usage/collector/", follow=True).content.decode()
    assert "set ODOO_DATABASE and ODOO_LOGIN too" in page
