"""The outbound URL policy (billing_project.outbound) on the tenants' usage collectors: a collector URL a
tenant set can never make the service call inside its own network, whether the URL says so (saved: a
form error) or only its DNS answer does (run: a failed run with the reason, and nothing sent). The
platform's collectors, configured by the operator's environment, are exempt by an explicit argument."""

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import tenant_context

from notifications import crypto
from tests.usage.fakes import FakeNetBox, FakeOdoo
from usage.models import Collector, CollectorRun, Meter
from usage.services import collector_create, usage_collector_run, usage_collectors_run_due

pytestmark = pytest.mark.django_db

TOKEN = "nbt_0123456789"


@pytest.fixture
def netbox(settings):
    """A NetBox on loopback: plain http allowed (no TLS here), its address NOT (the policy's default)."""
    settings.OUTBOUND_ALLOW_HTTP = True
    settings.OUTBOUND_ALLOW_PRIVATE_HOSTS = []
    server = FakeNetBox(token=TOKEN, counts={"dcim/devices": 42})
    server.port = server.httpd.server_address[1]
    yield server
    server.close()


@pytest.fixture
def odoo(settings):
    server = FakeOdoo(
        database="prod", login="bot@acme.test", api_key="odoo-key-abc", counts={"res.users": 17}
    )
    server.port = server.httpd.server_address[1]
    yield server
    server.close()


@pytest.fixture
def devices_meter(tenant):
    with tenant_context(tenant):
        Meter.objects.create(
            code="devices", display_name="Devices", unit="devices", aggregation="last"
        )


def _stored_collector(tenant, *, kind="netbox", base_url, secret=TOKEN) -> Collector:
    """A collector stored as-is, as rows saved before the policy existed (or a name whose DNS changed since)."""
    with tenant_context(tenant):
        collector = Collector(
            kind=kind,
            name=f"{kind} at {base_url}"[:100],
            base_url=base_url,
            resource_type="devices",
            target="dcim/devices" if kind == "netbox" else "res.users",
            odoo_database="prod",
            odoo_login="bot@acme.test",
        )
        collector.secret_key_id, collector.secret_ciphertext = crypto.encrypt(secret)
        collector.save()
    return collector


@pytest.mark.parametrize(
    "stored",
    [
        "https://169.254.169.254/latest/meta-data",
        "https://10.0.0.1",
        "{netbox}",  # http://127.0.0.1:<port>, the local NetBox itself
        "http://netbox.tenant-corp.test:{port}",  # a public-looking name resolving to loopback
        "http://[::ffff:127.0.0.1]:{port}",
        "http://2130706433:{port}",
    ],
)
def test_a_tenant_collector_to_a_private_address_fails_with_the_reason_and_sends_nothing(
    stored, tenant, netbox, devices_meter, fake_dns
):
    fake_dns({"netbox.tenant-corp.test": ["127.0.0.1"]})
    collector = _stored_collector(
        tenant, base_url=stored.format(netbox=netbox.url, port=netbox.port)
    )
    run = usage_collector_run(tenant=tenant, collector=collector)
    assert run.status == CollectorRun.Status.FAILED and run.count is None
    assert (
        "refused by the outbound URL policy" in run.error
        and "private or reserved address" in run.error
    )
    assert netbox.requests == []


def test_a_tenant_odoo_collector_resolving_inside_is_refused_too(tenant, netbox, odoo, fake_dns):
    fake_dns({"odoo.tenant-corp.test": ["127.0.0.1"]})
    collector = _stored_collector(
        tenant,
        kind="odoo",
        base_url=f"http://odoo.tenant-corp.test:{odoo.port}",
        secret="odoo-key-abc",
    )
    run = usage_collector_run(tenant=tenant, collector=collector)
    assert (
        run.status == "failed"
        and "Odoo common.login: refused by the outbound URL policy" in run.error
    )
    assert (
        "odoo.tenant-corp.test resolves to a private or reserved address (127.0.0.1)" in run.error
    )
    assert odoo.requests == []


def test_an_allowed_tenant_collector_still_counts(tenant, netbox, odoo, devices_meter, settings):
    # The control of the refusals above: the same collectors, their ports let through, do count.
    settings.OUTBOUND_ALLOW_PRIVATE_HOSTS = [f"127.0.0.1:{netbox.port}", f"127.0.0.1:{odoo.port}"]
    runs = [
        usage_collector_run(
            tenant=tenant, collector=_stored_collector(tenant, base_url=netbox.url)
        ),
        usage_collector_run(
            tenant=tenant,
            collector=_stored_collector(
                tenant, kind="odoo", base_url=odoo.url, secret="odoo-key-abc"
            ),
        ),
    ]
    assert [(r.status, r.count) for r in runs] == [("ok", 42), ("ok", 17)]


def test_a_redirect_is_not_followed_even_to_an_allowed_netbox(
    tenant, netbox, receiver, settings, devices_meter
):
    settings.OUTBOUND_ALLOW_PRIVATE_HOSTS = [
        f"127.0.0.1:{receiver.port}",
        f"127.0.0.1:{netbox.port}",
    ]
    receiver.redirect_to = f"{netbox.url}/api/dcim/devices/?limit=1"
    collector = _stored_collector(tenant, base_url=receiver.url(""))
    run = usage_collector_run(tenant=tenant, collector=collector)
    assert run.status == "failed" and "redirect (HTTP 302), not followed" in run.error
    assert [r["path"] for r in receiver.requests] == ["/api/dcim/devices/?limit=1"]
    assert netbox.requests == []


def test_a_redirect_to_the_metadata_address_is_not_followed(tenant, receiver, settings):
    settings.OUTBOUND_ALLOW_PRIVATE_HOSTS = [f"127.0.0.1:{receiver.port}"]
    receiver.redirect_to = "http://169.254.169.254/latest/meta-data/"
    run = usage_collector_run(
        tenant=tenant, collector=_stored_collector(tenant, kind="odoo", base_url=receiver.url(""))
    )
    assert (
        run.status == "failed"
        and "Odoo common.login: answered with a redirect (HTTP 302)" in run.error
    )
    assert receiver.requests == [{"path": "/jsonrpc", "host": f"127.0.0.1:{receiver.port}"}]


def test_the_platform_collector_is_exempt_by_the_operators_configuration(
    tenant, netbox, devices_meter, settings
):
    # The operator's own NetBox may well sit on a private address: the policy does not apply to it, while
    # a tenant's collector at the very same address is refused.
    settings.NETBOX_API_URL, settings.NETBOX_API_TOKEN = netbox.url, TOKEN
    settings.ODOO_API_URL = settings.ODOO_API_KEY = ""
    settings.NETBOX_RESOURCE_TYPE, settings.NETBOX_ENDPOINT = "devices", "dcim/devices"
    _stored_collector(tenant, base_url=netbox.url)
    runs = {r.collector.platform: r for r in usage_collectors_run_due(tenant=tenant)}
    assert (runs[True].status, runs[True].count) == ("ok", 42)
    assert (
        runs[False].status == "failed" and "refused by the outbound URL policy" in runs[False].error
    )
    assert len(netbox.requests) == 1 and netbox.requests[0][1]["tenant"] == ["acme"]


# --- saved: the service and the admin --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://169.254.169.254/latest/meta-data/",
        "https://10.0.0.1",
        "https://127.0.0.1:8000",
        "https://[::ffff:127.0.0.1]",
        "https://localhost",
    ],
)
def test_collector_create_refuses_a_literal_private_url(url, tenant, settings):
    settings.OUTBOUND_ALLOW_PRIVATE_HOSTS = []
    with pytest.raises(ValidationError) as caught:
        collector_create(
            tenant=tenant,
            kind="netbox",
            name="nb",
            base_url=url,
            resource_type="devices",
            target="dcim/devices",
            secret=TOKEN,
        )
    assert "private or reserved address" in caught.value.message_dict["base_url"][0]
    with tenant_context(tenant):
        assert not Collector.objects.exists()


def _admin_add(admin_client, base_url):
    admin_client.get(
        "/admin/usage/collector/?tenant=acme", follow=True
    )  # picks the tenant (session)
    return admin_client.post(
        "/admin/usage/collector/add/",
        {
            "kind": "netbox",
            "name": "nb",
            "base_url": base_url,
            "resource_type": "devices",
            "target": "dcim/devices",
            "filters": "{}",
            "odoo_database": "",
            "odoo_login": "",
            "interval_minutes": "60",
            "is_active": "on",
            "secret": TOKEN,
        },
    )


@pytest.mark.parametrize(
    "url",
    ["https://169.254.169.254/latest/meta-data/", "https://10.0.0.1", "https://127.0.0.1:8080"],
)
def test_the_admin_form_refuses_a_literal_private_url(url, admin_client, tenant, settings):
    settings.OUTBOUND_ALLOW_PRIVATE_HOSTS = []
    response = _admin_add(admin_client, url)
    assert response.status_code == 200
    assert "private or reserved address" in response.context["adminform"].form.errors["base_url"][0]
    assert "private or reserved address" in response.content.decode()
    with tenant_context(tenant):
        assert not Collector.objects.exists()


def test_the_admin_form_saves_a_public_collector_url(admin_client, tenant):
    response = _admin_add(admin_client, "https://netbox.example.com")
    assert response.status_code == 302, response.content.decode()[:2000]
    with tenant_context(tenant):
        assert Collector.objects.get().base_url == "https://netbox.example.com"
