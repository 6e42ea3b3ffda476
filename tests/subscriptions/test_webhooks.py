"""Stripe webhooks end to end: the emulator signs and delivers to a sink; each delivery is posted
as received (body and Stripe-Signature) to POST /api/v1/webhooks/stripe."""

import random

import pytest

from tests.conftest import assert_error
from tests.subscriptions.conftest import subscribe

pytestmark = pytest.mark.django_db


def _entitled(tenant):
    from subscriptions.selectors import entitlements_get

    return entitlements_get(tenant=tenant)


def _billing_events(tenant, kind):
    from django_tenants.utils import tenant_context

    from notifications.models import BillingEvent

    with tenant_context(tenant):
        return list(BillingEvent.objects.filter(kind=kind))


def test_trial_ends_invoice_paid_active(hooks, owner_client, tenant):
    from subscriptions.services.clocks import test_clock_advance

    subscribe(owner_client, plan_id="starter", payment_method="pm_card_visa", trial_days=14)
    hooks.deliver()
    test_clock_advance(tenant=tenant, days=12)
    hooks.deliver()
    assert len(_billing_events(tenant, "trial_ending")) == 1
    test_clock_advance(tenant=tenant, days=3)
    hooks.deliver()
    current = owner_client.get("/api/v1/subscriptions/current").json()
    assert current["status"] == "active"
    assert _entitled(tenant).plan.code == "starter"
    assert len(_billing_events(tenant, "payment_succeeded")) == 1


def test_declined_renewal_past_due_grace_then_free(hooks, owner_client, tenant):
    from subscriptions.services.clocks import test_clock_advance

    subscribe(
        owner_client,
        plan_id="professional",
        payment_method="pm_card_chargeCustomerFail",
        trial_days=3,
    )
    test_clock_advance(tenant=tenant, days=4)
    hooks.deliver()
    assert owner_client.get("/api/v1/subscriptions/current").json()["status"] == "past_due"
    entitled = _entitled(tenant)
    assert entitled.plan.code == "professional" and entitled.reason == "grace_period"
    assert entitled.limits["api_calls"] == 100000
    (failed,) = _billing_events(tenant, "payment_failed")
    # Announced once, by invoicing (which owns payment attempts): with the invoice number and decline code.
    assert failed.data["invoice_number"] and failed.data["decline_code"]
    test_clock_advance(tenant=tenant, days=8)
    hooks.deliver()
    entitled = _entitled(tenant)
    assert entitled.plan.code == "free" and entitled.limits["api_calls"] == 1000


def test_cancel_at_period_end_is_canceled_after_the_clock_passes_it(hooks, owner_client, tenant):
    from subscriptions.services.clocks import test_clock_advance

    subscribe(owner_client, plan_id="starter", payment_method="pm_card_visa")
    owner_client.put("/api/v1/subscriptions/current", {"cancel_at_period_end": True}, format="json")
    hooks.deliver()
    test_clock_advance(tenant=tenant, days=32)
    hooks.deliver()
    assert_error(owner_client.get("/api/v1/subscriptions/current"), 404, "no_subscription")
    assert _entitled(tenant).plan.code == "free"
    assert len(_billing_events(tenant, "subscription_canceled")) == 1


def test_bad_or_stale_signature_is_400_and_nothing_stored(hooks, owner_client):
    from subscriptions.models import WebhookEvent

    subscribe(owner_client, plan_id="free")
    request = hooks.pending()[0]
    assert_error(hooks.post(request, signature="t=1,v1=deadbeef"), 400, "invalid_signature")
    timestamp = request["headers"]["Stripe-Signature"].split(",")[0].split("=")[1]
    stale = request["headers"]["Stripe-Signature"].replace(
        f"t={timestamp}", f"t={int(timestamp) - 3600}"
    )
    assert_error(hooks.post(request, signature=stale), 400, "invalid_signature")
    assert not WebhookEvent.objects.exists()


def test_duplicates_x5_are_processed_once(hooks, owner_client, tenant):
    from subscriptions.models import WebhookEvent
    from subscriptions.services.clocks import test_clock_advance

    subscribe(
        owner_client, plan_id="starter", payment_method="pm_card_chargeCustomerFail", trial_days=1
    )
    test_clock_advance(tenant=tenant, days=2)
    requests = hooks.pending()
    failed = [r for r in requests if '"invoice.payment_failed"' in r["body"]]
    assert failed
    for _ in range(5):
        hooks.deliver(failed)
    event = WebhookEvent.objects.get(type="invoice.payment_failed")
    assert event.attempts == 1 and event.status == "processed" and event.tenant == tenant
    assert len(_billing_events(tenant, "payment_failed")) == 1


def test_shuffled_order_gives_the_same_end_state(hooks, owner_client, tenant):
    from subscriptions.models import BillingAccount
    from subscriptions.services.clocks import test_clock_advance

    subscribe(owner_client, plan_id="starter", payment_method="pm_card_visa", trial_days=5)
    test_clock_advance(tenant=tenant, days=6)
    owner_client.put("/api/v1/subscriptions/current", {"cancel_at_period_end": True}, format="json")
    BillingAccount.objects.filter(tenant=tenant).update(
        status="trialing", cancel_at_period_end=False
    )
    requests = hooks.pending()
    random.Random(6).shuffle(requests)
    hooks.deliver(requests)
    current = owner_client.get("/api/v1/subscriptions/current").json()
    assert current["status"] == "active" and current["cancel_at_period_end"] is True
