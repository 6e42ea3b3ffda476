"""Test clocks: trials, renewals, failed payments, automatic retries, with signed webhooks."""

import json
import urllib.request

import stripe

from .helpers import DAY, T0, advance, customer_with_card, recurring_price


def _control(server, path, payload):
    request = urllib.request.Request(
        server.url + path, data=json.dumps(payload).encode(), method="POST"
    )
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())


def _verified_events(sink):
    """Every accepted delivery, verified the way the product verifies them."""
    events = []
    for request in sink.requests:
        if request["status"] >= 300:
            continue
        event = stripe.Webhook.construct_event(
            request["body"], request["headers"]["Stripe-Signature"], sink.secret
        )
        events.append(event)
    return events


def test_trial_renewal_failure_and_retries(stripe_client, stripe_emulator_fresh, webhook_sink):
    client = stripe_client
    clock = client.v1.test_helpers.test_clocks.create(
        params={"frozen_time": T0, "name": "lifecycle"}
    )
    customer, visa = customer_with_card(client, clock=clock.id)
    price = recurring_price(client, amount=2900)
    sub = client.v1.subscriptions.create(
        params={"customer": customer.id, "items": [{"price": price.id}], "trial_period_days": 14}
    )
    assert sub.status == "trialing" and sub.trial_end == T0 + 14 * DAY
    assert sub["items"].data[0].current_period_end == T0 + 14 * DAY

    advance(client, clock.id, T0 + 15 * DAY)
    sub = client.v1.subscriptions.retrieve(sub.id, params={"expand": ["latest_invoice"]})
    assert sub.status == "active"
    invoice = sub.latest_invoice
    assert (invoice.status, invoice.amount_paid, invoice.billing_reason) == (
        "paid",
        2900,
        "subscription_cycle",
    )
    assert invoice.created == T0 + 14 * DAY  # objects of a clock customer live in the clock's time
    period_end = sub["items"].data[0].current_period_end
    assert period_end == T0 + 14 * DAY + 31 * DAY  # Jan 15 -> Feb 15

    failing = client.v1.payment_methods.attach(
        "pm_card_chargeCustomerFail", params={"customer": customer.id}
    )
    client.v1.customers.update(
        customer.id, params={"invoice_settings": {"default_payment_method": failing.id}}
    )
    advance(client, clock.id, period_end + 3600)
    sub = client.v1.subscriptions.retrieve(sub.id, params={"expand": ["latest_invoice"]})
    assert sub.status == "past_due"
    assert sub.latest_invoice.status == "open" and sub.latest_invoice.attempt_count == 1
    assert sub.latest_invoice.next_payment_attempt is None  # automatic retries are off by default

    failed_at = sub.latest_invoice.status_transitions.finalized_at
    # Switching Stripe-like automatic retries on (control API): 3 retries, then the subscription is unpaid.
    _control(
        stripe_emulator_fresh,
        "/_emulator/settings",
        {"automatic_retries": True, "after_retries": "unpaid"},
    )
    advance(client, clock.id, failed_at + 4 * DAY)
    retried = client.v1.invoices.retrieve(sub.latest_invoice.id)
    assert retried.attempt_count == 2 and retried.next_payment_attempt == failed_at + 5 * DAY
    assert client.v1.subscriptions.retrieve(sub.id).status == "past_due"
    advance(client, clock.id, failed_at + 8 * DAY)
    sub = client.v1.subscriptions.retrieve(sub.id, params={"expand": ["latest_invoice"]})
    assert sub.status == "unpaid"
    assert sub.latest_invoice.attempt_count == 4 and sub.latest_invoice.next_payment_attempt is None

    # Paying the open invoice with a good card makes the subscription active again.
    client.v1.invoices.pay(sub.latest_invoice.id, params={"payment_method": visa.id})
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"

    stripe_emulator_fresh.wait_for_webhooks()
    events = _verified_events(webhook_sink)
    types = [e.type for e in events]
    for expected in (
        "customer.subscription.created",
        "customer.subscription.trial_will_end",
        "invoice.paid",
        "invoice.payment_failed",
        "charge.failed",
        "test_helpers.test_clock.ready",
    ):
        assert expected in types, expected
    statuses = [e.data.object.status for e in events if e.type == "customer.subscription.updated"]
    assert statuses[-3:] == ["past_due", "unpaid", "active"]
    failed = [e for e in events if e.type == "invoice.payment_failed"]
    assert len(failed) == 4 and failed[0].data.object.id == sub.latest_invoice.id
    trial_will_end = next(e for e in events if e.type == "customer.subscription.trial_will_end")
    assert trial_will_end.created == T0 + 11 * DAY
    assert all(e.api_version == "2026-05-27.dahlia" for e in events)
    assert [e.id for e in events] == [
        e.id
        for e in client.v1.events.list(params={"limit": 100}).data[::-1]
        if e.id in {x.id for x in events}
    ]  # creation order per endpoint


def test_ready_waits_for_first_delivery(stripe_client, stripe_emulator_fresh, webhook_sink):
    clock = stripe_client.v1.test_helpers.test_clocks.create(params={"frozen_time": T0})
    customer, _ = customer_with_card(stripe_client, clock=clock.id)
    price = recurring_price(stripe_client, amount=1000)
    stripe_client.v1.subscriptions.create(
        params={"customer": customer.id, "items": [{"price": price.id}]}
    )
    advance(stripe_client, clock.id, T0 + 32 * DAY)
    received = {e["type"]: e for e in webhook_sink.events()}
    assert {"invoice.upcoming", "invoice.paid", "customer.subscription.updated"} <= set(received)
    upcoming = received["invoice.upcoming"]["data"]["object"]
    assert upcoming["lines"]["data"][0]["amount"] == 1000 and not any(
        k.startswith("_") for k in upcoming
    )
    assert (
        received["invoice.upcoming"]["created"] == T0 + 28 * DAY
    )  # 3 days before the Feb 1 renewal


def test_cancel_at_period_end_and_incomplete_expired(stripe_client, stripe_emulator_fresh):
    client = stripe_client
    clock = client.v1.test_helpers.test_clocks.create(params={"frozen_time": T0})
    customer, _ = customer_with_card(client, clock=clock.id)
    price = recurring_price(client, amount=1500)
    sub = client.v1.subscriptions.create(
        params={"customer": customer.id, "items": [{"price": price.id}]}
    )
    sub = client.v1.subscriptions.update(sub.id, params={"cancel_at_period_end": True})
    assert sub.cancel_at_period_end is True and sub.status == "active"

    failing = client.v1.customers.create(params={"test_clock": clock.id})
    client.v1.payment_methods.attach("pm_card_chargeCustomerFail", params={"customer": failing.id})
    pm = client.v1.payment_methods.list(params={"customer": failing.id}).data[0]
    incomplete = client.v1.subscriptions.create(
        params={
            "customer": failing.id,
            "items": [{"price": price.id}],
            "default_payment_method": pm.id,
        }
    )
    assert incomplete.status == "incomplete"

    advance(client, clock.id, T0 + 32 * DAY)
    assert client.v1.subscriptions.retrieve(sub.id).status == "canceled"
    expired = client.v1.subscriptions.retrieve(incomplete.id, params={"expand": ["latest_invoice"]})
    assert expired.status == "incomplete_expired" and expired.latest_invoice.status == "void"
    assert (
        client.v1.invoices.list(params={"subscription": sub.id}).data[0].billing_reason
        == "subscription_create"
    )


def test_metered_usage_billed_in_arrears_and_dedup(stripe_client, stripe_emulator_fresh):
    client = stripe_client
    clock = client.v1.test_helpers.test_clocks.create(params={"frozen_time": T0})
    customer, _ = customer_with_card(client, clock=clock.id)
    meter = client.v1.billing.meters.create(
        params={
            "display_name": "API calls",
            "event_name": "api_call",
            "default_aggregation": {"formula": "sum"},
        }
    )
    price = recurring_price(
        client,
        amount=3,
        recurring={"interval": "month", "usage_type": "metered", "meter": meter.id},
    )
    sub = client.v1.subscriptions.create(
        params={"customer": customer.id, "items": [{"price": price.id}]}
    )
    for i, value in enumerate((100, 250, 250)):
        client.v1.billing.meter_events.create(
            params={
                "event_name": "api_call",
                "identifier": f"evt-{i}",
                "timestamp": T0 + DAY * (i + 1),
                "payload": {"stripe_customer_id": customer.id, "value": str(value)},
            }
        )
    with __import__("pytest").raises(stripe.InvalidRequestError) as exc:
        client.v1.billing.meter_events.create(
            params={
                "event_name": "api_call",
                "identifier": "evt-1",
                "payload": {"stripe_customer_id": customer.id, "value": "999"},
            }
        )
    assert exc.value.param == "identifier"
    summary = client.v1.billing.meters.event_summaries.list(
        meter.id, params={"customer": customer.id, "start_time": T0, "end_time": T0 + 31 * DAY}
    )
    assert summary.data[0].aggregated_value == 600
    advance(client, clock.id, T0 + 31 * DAY + 60)
    invoice = client.v1.invoices.list(params={"subscription": sub.id}).data[0]
    assert invoice.billing_reason == "subscription_cycle"
    usage = [ln for ln in invoice.lines.data if ln.pricing.price_details.price == price.id]
    assert [ln.amount for ln in usage if ln.period.end == T0 + 31 * DAY] == [1800]
    assert invoice.amount_paid == 1800
