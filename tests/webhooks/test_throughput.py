"""What keeps a delivery cheap (issue 17's 500 deliveries/s on 2 cores): a batch of deliveries costs
a few SQL statements, not a few per delivery, and one endpoint's messages ride one kept-alive
connection, which the outbound URL policy still governs: a connection checked under a policy that
allowed its address is not reused once the policy no longer does."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from tests.webhooks.conftest import Receiver
from webhooks.models import WebhookDelivery
from webhooks.services import emit_event

pytestmark = pytest.mark.django_db


def _emit(tenant, count, prefix="e"):
    for n in range(count):
        emit_event(
            tenant=tenant, type="coupon.redeemed", obj={"code": str(n)}, dedup_key=f"{prefix}{n}"
        )


@pytest.fixture
def kept_alive(loopback_allowed):
    server = Receiver(keep_alive=True)
    yield server
    server.close()


def test_a_batch_costs_a_few_statements_not_a_few_per_delivery(
    tenant, kept_alive, endpoint_of, flush, settings
):
    settings.WEBHOOKS_CLAIM_BATCH = 10
    endpoint, secret = endpoint_of(tenant, kept_alive.url)
    kept_alive.verify_with(secret)
    _emit(tenant, 30)
    with CaptureQueriesContext(connection) as queries:
        assert flush(tenant, endpoint) == 30
    with tenant_context(tenant):
        statuses = set(WebhookDelivery.objects.values_list("status", flat=True))
    assert statuses == {"delivered"}
    assert len(kept_alive.requests) == 30
    assert all(r["verified"] == {secret: True} for r in kept_alive.requests)
    # Three batches: claim and record each (with the savepoint of the record), one empty claim.
    # Claiming, locking, updating and recording one delivery at a time took 4.5 per delivery.
    assert len(queries) <= 15, [q["sql"][:80] for q in queries]


def test_one_endpoints_messages_share_one_connection(tenant, kept_alive, endpoint_of, flush):
    endpoint, secret = endpoint_of(tenant, kept_alive.url)
    kept_alive.verify_with(secret)
    _emit(tenant, 5)
    flush(tenant, endpoint)
    assert len(kept_alive.requests) == 5
    assert len({r["peer"] for r in kept_alive.requests}) == 1
    assert len({r["headers"]["webhook-id"] for r in kept_alive.requests}) == 5


def test_a_kept_alive_connection_is_not_reused_once_the_policy_refuses_its_address(
    tenant, kept_alive, endpoint_of, flush, fake_dns, settings
):
    fake_dns({"hooks.example.test": ["127.0.0.1"]})
    endpoint, _ = endpoint_of(tenant, kept_alive.url)
    with tenant_context(tenant):
        WebhookDelivery.objects.all().delete()
        endpoint.url = f"http://hooks.example.test:{kept_alive.server.server_port}/hooks"
        endpoint.save(update_fields=["url"])
    _emit(tenant, 1, "allowed")
    flush(tenant, endpoint)
    assert len(kept_alive.requests) == 1  # sent while 127.0.0.0/8 was allowed: connection kept

    settings.OUTBOUND_ALLOW_PRIVATE_HOSTS = []
    settings.OUTBOUND_URL_ALLOWLIST = []
    _emit(tenant, 1, "refused")
    flush(tenant, endpoint)
    assert len(kept_alive.requests) == 1
    with tenant_context(tenant):
        refused = WebhookDelivery.objects.get(event__dedup_key="refused0")
    assert refused.status == "failed" and "127.0.0.1" in refused.last_error
