"""dj-stripe 2.11 (the product's mirror of Stripe) accepts the emulator's objects and webhooks.

Runs only under the Django project (pytest-django with the root conftest); skipped otherwise.
"""

import json

import pytest
import stripe

from .helpers import customer_with_card, recurring_price

if not pytest.importorskip("django.conf").settings.configured:
    pytest.skip(
        "needs the Django project settings (run under pytest-django)", allow_module_level=True
    )
pytestmark = pytest.mark.django_db

# dj-stripe only accepts keys matching sk_test_ + 24 or more alphanumerics; the emulator takes any sk_test_.
KEY = "sk_test_" + "emulator" * 3


@pytest.fixture
def emulated_stripe(stripe_emulator_fresh, stripe_client, monkeypatch, settings):
    """Global stripe-python and dj-stripe settings pointed at the emulator, as the product configures them."""
    monkeypatch.setattr(stripe, "api_base", stripe_emulator_fresh.url)
    monkeypatch.setattr(stripe, "api_key", KEY)
    settings.STRIPE_TEST_SECRET_KEY = KEY
    settings.STRIPE_LIVE_MODE = False
    return stripe_client


def test_sync_from_stripe_data_accepts_every_object(emulated_stripe):
    from djstripe import models as djs

    client = emulated_stripe
    customer, pm = customer_with_card(client)
    price = recurring_price(client, amount=2500)
    coupon = client.v1.coupons.create(params={"percent_off": 20, "duration": "once"})
    promo = client.v1.promotion_codes.create(
        params={"promotion": {"type": "coupon", "coupon": coupon.id}}
    )
    sub = client.v1.subscriptions.create(
        params={
            "customer": customer.id,
            "items": [{"price": price.id}],
            "discounts": [{"promotion_code": promo.id}],
        }
    )
    invoice = client.v1.invoices.retrieve(sub.latest_invoice)
    payment = client.v1.invoice_payments.list(params={"invoice": invoice.id}).data[0]
    pi = client.v1.payment_intents.retrieve(payment.payment.payment_intent)
    refund = client.v1.refunds.create(params={"payment_intent": pi.id, "amount": 500})

    ids = {
        djs.Account: None,
        djs.Customer: customer.id,
        djs.PaymentMethod: pm.id,
        djs.Product: price.product,
        djs.Price: price.id,
        djs.Coupon: coupon.id,
        djs.PromotionCode: promo.id,
        djs.Subscription: sub.id,
        djs.Invoice: invoice.id,
        djs.PaymentIntent: pi.id,
        djs.Charge: pi.latest_charge,
        djs.Refund: refund.id,
        djs.Event: client.v1.events.list(params={"limit": 1}).data[0].id,
    }
    for model, obj_id in ids.items():
        # Fetched the way dj-stripe fetches (its expand_fields), then mirrored.
        data = (
            model.stripe_class.retrieve(id=obj_id, api_key=KEY, expand=model.expand_fields)
            if obj_id
            else stripe.Account.retrieve(api_key=KEY)
        )
        if model is djs.Event:
            # dj-stripe gets events as JSON from webhooks; given a StripeObject (no dict subclass in
            # stripe-python 15) its Event hook would store str(request) - the same with real Stripe.
            data = json.loads(data.last_response.body)
        obj = model.sync_from_stripe_data(data, api_key=KEY)
        assert obj.id == data["id"], model.__name__

    mirrored = djs.Subscription.objects.get(id=sub.id)
    assert mirrored.status == "active" and mirrored.customer.id == customer.id
    assert djs.Invoice.objects.get(id=invoice.id).stripe_data["amount_paid"] == 2000
    assert djs.Charge.objects.get(id=pi.latest_charge).stripe_data["amount_refunded"] == 500
    assert djs.Price.objects.get(id=price.id).stripe_data["unit_amount"] == 2500


def test_webhook_event_trigger_accepts_deliveries(
    emulated_stripe, stripe_emulator_fresh, webhook_sink, rf
):
    from djstripe import models as djs

    client = emulated_stripe
    endpoint_data = {
        "id": "we_djstripe",
        "object": "webhook_endpoint",
        "api_version": None,
        "application": None,
        "created": 1767225600,
        "description": None,
        "enabled_events": ["*"],
        "livemode": False,
        "metadata": {},
        "status": "enabled",
        "url": webhook_sink.url,
        "secret": webhook_sink.secret,
    }
    endpoint = djs.WebhookEndpoint.sync_from_stripe_data(endpoint_data, api_key=KEY)
    customer, _ = customer_with_card(client)
    price = recurring_price(client, amount=1000)
    client.v1.subscriptions.create(params={"customer": customer.id, "items": [{"price": price.id}]})
    webhook_sink.wait_for(lambda evs: "customer.subscription.created" in [e["type"] for e in evs])

    for delivery in webhook_sink.requests:
        request = rf.post(
            "/stripe/webhook/",
            data=delivery["body"],
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=delivery["headers"]["Stripe-Signature"],
        )
        trigger = djs.WebhookEventTrigger.from_request(request, webhook_endpoint=endpoint)
        assert trigger.valid and trigger.processed, trigger.exception
    assert djs.Subscription.objects.get(customer__id=customer.id).status == "active"
    assert djs.Event.objects.filter(type="invoice.paid").exists()
