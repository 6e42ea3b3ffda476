"""Endpoints not exercised by the flow tests: items, updates, deletes, cancels, searches."""

import pytest
import stripe

from .helpers import DAY, T0, advance, customer_with_card, recurring_price


def test_subscription_items_interval_change_and_trial_end_now(stripe_client, stripe_emulator_fresh):
    c = stripe_client.v1
    clock = c.test_helpers.test_clocks.create(params={"frozen_time": T0})
    customer, _ = customer_with_card(stripe_client, clock=clock.id)
    monthly = recurring_price(stripe_client, amount=1000)
    addon = recurring_price(stripe_client, amount=500, name="Addon")
    sub = c.subscriptions.create(
        params={"customer": customer.id, "items": [{"price": monthly.id}], "trial_period_days": 30}
    )
    sub = c.subscriptions.update(sub.id, params={"trial_end": "now", "expand": ["latest_invoice"]})
    sub = c.subscriptions.retrieve(sub.id, params={"expand": ["latest_invoice"]})
    assert sub.status == "active" and sub.latest_invoice.amount_paid == 1000

    item = c.subscription_items.create(
        params={
            "subscription": sub.id,
            "price": addon.id,
            "quantity": 2,
            "proration_behavior": "none",
        }
    )
    assert item.quantity == 2 and item.price.id == addon.id and item.plan.amount == 500
    assert len(c.subscription_items.list(params={"subscription": sub.id}).data) == 2
    item = c.subscription_items.update(
        item.id, params={"quantity": 3, "proration_behavior": "none", "metadata": {"seat": "x"}}
    )
    assert item.quantity == 3 and item.metadata.seat == "x"
    assert (
        c.subscription_items.delete(item.id, params={"proration_behavior": "none"}).deleted is True
    )
    assert [i.price.id for i in c.subscriptions.retrieve(sub.id)["items"].data] == [monthly.id]

    yearly = recurring_price(stripe_client, amount=10000, interval="year", name="Yearly")
    advance(stripe_client, clock.id, T0 + 10 * DAY)
    sub = c.subscriptions.update(
        sub.id,
        params={
            "items": [{"id": sub["items"].data[0].id, "price": yearly.id}],
            "expand": ["latest_invoice"],
        },
    )
    item = sub["items"].data[0]
    assert (
        item.current_period_start == T0 + 10 * DAY
        and item.current_period_end == T0 + 10 * DAY + 365 * DAY
    )
    # Interval change: new cycle billed now, minus the unused 21 of 31 days of the monthly price.
    assert sub.latest_invoice.amount_paid == 10000 - 677


def test_updates_deletes_and_cancels(stripe_client, stripe_emulator_fresh):
    c = stripe_client.v1
    product = c.products.create(
        params={"name": "Plan", "default_price_data": {"currency": "usd", "unit_amount": 900}}
    )
    assert c.prices.retrieve(product.default_price).unit_amount == 900
    with pytest.raises(stripe.InvalidRequestError):
        c.products.delete(product.id)
    bare = c.products.create(params={"name": "Temp"})
    assert c.products.delete(bare.id).deleted is True
    assert (
        c.products.update(product.id, params={"active": False, "description": "d"}).active is False
    )
    assert [p.id for p in c.products.search(params={"query": "active:'false'"}).data] == [
        product.id
    ]

    coupon = c.coupons.create(params={"percent_off": 5})
    promo = c.promotion_codes.create(params={"promotion": {"type": "coupon", "coupon": coupon.id}})
    assert c.promotion_codes.update(promo.id, params={"active": False}).active is False
    assert c.coupons.update(coupon.id, params={"name": "Five"}).name == "Five"
    assert c.coupons.delete(coupon.id).deleted is True

    customer, _ = customer_with_card(stripe_client)
    txn = c.customers.balance_transactions.create(
        customer.id, params={"amount": -300, "currency": "usd"}
    )
    assert txn.ending_balance == -300 and c.customers.retrieve(customer.id).balance == -300
    draft = c.invoices.create(params={"customer": customer.id, "description": "first"})
    draft = c.invoices.update(draft.id, params={"description": "second", "metadata": {"po": "42"}})
    assert draft.description == "second" and draft.metadata.po == "42"
    assert c.invoices.delete(draft.id).deleted is True
    assert [
        i.id for i in c.invoices.search(params={"query": f"customer:'{customer.id}'"}).data
    ] == []

    pi = c.payment_intents.create(
        params={"amount": 100, "currency": "usd", "customer": customer.id}
    )
    pi = c.payment_intents.update(pi.id, params={"amount": 250, "description": "x"})
    assert pi.amount == 250
    assert c.payment_intents.cancel(pi.id).status == "canceled"
    seti = c.setup_intents.create(params={"customer": customer.id})
    assert c.setup_intents.cancel(seti.id).status == "canceled"

    meter = c.billing.meters.create(
        params={"display_name": "M", "event_name": "m", "default_aggregation": {"formula": "sum"}}
    )
    assert c.billing.meters.deactivate(meter.id).status == "inactive"
    with pytest.raises(stripe.InvalidRequestError):
        c.billing.meter_events.create(
            params={"event_name": "m", "payload": {"stripe_customer_id": customer.id, "value": "1"}}
        )
    assert c.billing.meters.reactivate(meter.id).status == "active"

    price = recurring_price(stripe_client, amount=700)
    sub = c.subscriptions.create(params={"customer": customer.id, "items": [{"price": price.id}]})
    assert c.subscriptions.search(params={"query": "status:'active'"}).data[0].id == sub.id
    assert c.customers.delete(customer.id).deleted is True
    assert c.subscriptions.retrieve(sub.id).status == "canceled"
    types = [e.type for e in c.events.list(params={"limit": 100}).data]
    assert {
        "customer.subscription.deleted",
        "customer.deleted",
        "coupon.deleted",
        "product.deleted",
        "promotion_code.updated",
        "payment_intent.canceled",
        "setup_intent.canceled",
    } <= set(types)
