"""Events: one per business fact, from the billing events that drive notifications, with the same
dedup; the payload shape; delivery signed and verified by the standardwebhooks library."""

import pytest
from django_tenants.utils import tenant_context

from notifications.events import billing_event_emit
from webhooks.models import Event, WebhookDelivery
from webhooks.services import emit_event

pytestmark = pytest.mark.django_db


def test_a_billing_event_becomes_one_event_and_a_repeat_none(
    tenant, receiver, endpoint_of, flush, django_capture_on_commit_callbacks
):
    endpoint, secret = endpoint_of(tenant, receiver.url)
    receiver.verify_with(secret)
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(2):  # a Stripe retry of the same attempt: the same dedup key
            billing_event_emit(
                tenant=tenant,
                kind="payment_failed",
                object_id="in_test1",
                dedup_key="payment_failed:in_test1:1",
                data={"attempt": 1},
            )
    with tenant_context(tenant):
        events = list(Event.objects.all())
    assert [e.type for e in events] == ["invoice.payment_failed"]
    payload = events[0].payload
    assert set(payload) == {"id", "type", "created", "api_version", "tenant_id", "data"}
    assert payload["tenant_id"] == tenant.tenant_id
    assert payload["data"]["object"]["invoice_id"] == "in_test1"

    assert flush(tenant, endpoint) == 1
    [request] = receiver.requests
    assert request["verified"] == {secret: True}
    assert request["headers"]["webhook-id"] == payload["id"]
    assert request["headers"]["content-type"] == "application/json"
    assert request["json"] == payload
    with tenant_context(tenant):
        delivery = WebhookDelivery.objects.get()
    assert delivery.status == "delivered" and delivery.response_status == 200


def test_emit_event_is_idempotent_on_its_dedup_key(tenant, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = emit_event(tenant=tenant, type="coupon.redeemed", obj={"a": 1}, dedup_key="k1")
        again = emit_event(tenant=tenant, type="coupon.redeemed", obj={"a": 1}, dedup_key="k1")
    assert first is not None and again is None
    with pytest.raises(ValueError):
        emit_event(tenant=tenant, type="no.such", obj={}, dedup_key="k2")


def test_a_tenant_status_change_is_one_event_with_the_tenant_and_its_previous_status(tenant):
    tenant.status = "suspended"
    tenant.save()
    tenant.save()  # saved again unchanged: no second event
    with tenant_context(tenant):
        [event] = Event.objects.filter(type="tenant.status_changed")
    obj = event.payload["data"]["object"]
    assert obj["tenant_id"] == tenant.tenant_id
    assert (obj["status"], obj["previous_status"]) == ("suspended", "active")


def test_the_event_log_pages_newest_first(tenant, owner_client):
    for n in range(3):
        emit_event(tenant=tenant, type="coupon.redeemed", obj={"n": n}, dedup_key=f"page{n}")
    first = owner_client.get("/api/v1/events?limit=2")
    assert [e["data"]["object"]["n"] for e in first.json()] == [2, 1]
    assert 'rel="next"' in first["Link"]
    nxt = first["Link"].split(";")[0].strip("<>")
    assert [e["data"]["object"]["n"] for e in owner_client.get(nxt).json()] == [0]
    only = owner_client.get("/api/v1/events?type=coupon.redeemed").json()
    assert len(only) == 3
