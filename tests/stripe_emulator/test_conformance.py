"""Every emulated object type has exactly the top-level keys of Stripe's dahlia fixture."""

import json
import os
from pathlib import Path

import pytest

from .helpers import T0, customer_with_card, recurring_price

FIXTURES = Path(
    os.environ.get(
        "STRIPE_FIXTURES_PATH",
        Path(__file__).resolve().parents[2]
        / ".."
        / "shared"
        / "stripe"
        / "fixtures3-2026-05-27.dahlia.json",
    )
)


@pytest.fixture(scope="module")
def fixture_keys():
    if not FIXTURES.exists():
        pytest.skip(
            f"Stripe fixture file not found at {FIXTURES} (set STRIPE_FIXTURES_PATH); it is not committed"
        )
    resources = json.loads(FIXTURES.read_text())["resources"]
    return {name: set(obj) for name, obj in resources.items()}


@pytest.fixture
def samples(stripe_client, stripe_emulator_fresh):
    """One object of each emulated type, as plain JSON dicts."""
    c = stripe_client.v1
    clock = c.test_helpers.test_clocks.create(params={"frozen_time": T0})
    customer, pm = customer_with_card(stripe_client, clock=clock.id)
    seti = c.setup_intents.create(params={"customer": customer.id})
    meter = c.billing.meters.create(
        params={
            "display_name": "Calls",
            "event_name": "calls",
            "default_aggregation": {"formula": "count"},
        }
    )
    meter_event = c.billing.meter_events.create(
        params={"event_name": "calls", "payload": {"stripe_customer_id": customer.id}}
    )
    price = recurring_price(stripe_client, amount=2000)
    coupon = c.coupons.create(params={"percent_off": 10, "duration": "forever"})
    promo = c.promotion_codes.create(params={"promotion": {"type": "coupon", "coupon": coupon.id}})
    c.invoice_items.create(params={"customer": customer.id, "amount": 100, "currency": "usd"})
    sub = c.subscriptions.create(
        params={
            "customer": customer.id,
            "items": [{"price": price.id}],
            "discounts": [{"promotion_code": promo.id}],
        }
    )
    invoice = c.invoices.retrieve(sub.latest_invoice)
    payment = c.invoice_payments.list(params={"invoice": invoice.id}).data[0]
    pi = c.payment_intents.retrieve(payment.payment.payment_intent)
    charge = c.charges.retrieve(pi.latest_charge)
    refund = c.refunds.create(params={"charge": charge.id, "amount": 100})
    note = c.credit_notes.create(
        params={
            "invoice": invoice.id,
            "credit_amount": 200,
            "lines": [
                {
                    "type": "invoice_line_item",
                    "invoice_line_item": invoice.lines.data[0].id,
                    "amount": 200,
                }
            ],
        }
    )
    endpoint = c.webhook_endpoints.create(
        params={"url": "http://127.0.0.1:9/hook", "enabled_events": ["*"]}
    )
    objects = {
        "account": c.accounts.retrieve_current(),
        "customer": c.customers.retrieve(customer.id),
        "payment_method": pm,
        "setup_intent": seti,
        "payment_intent": pi,
        "product": c.products.retrieve(price.product),
        "price": price,
        "coupon": coupon,
        "promotion_code": promo,
        "subscription": sub,
        "subscription_item": sub["items"].data[0],
        "invoice": invoice,
        "line_item": invoice.lines.data[0],
        "invoiceitem": c.invoice_items.list(params={"customer": customer.id}).data[0],
        "invoice_payment": payment,
        "charge": charge,
        "refund": refund,
        "credit_note": note,
        "credit_note_line_item": c.credit_notes.line_items.list(note.id).data[0],
        "billing.meter": meter,
        "billing.meter_event": meter_event,
        "event": c.events.list().data[0],
        "webhook_endpoint": c.webhook_endpoints.retrieve(endpoint.id),
        "test_helpers.test_clock": c.test_helpers.test_clocks.retrieve(clock.id),
        "customer_balance_transaction": c.customers.balance_transactions.list(customer.id).data[0],
        "discount": c.subscriptions.retrieve(sub.id, params={"expand": ["discounts"]}).discounts[0],
        "balance_transaction": c.balance_transactions.retrieve(charge.balance_transaction),
    }
    return objects


def _keys(obj):
    return set(obj.to_dict())


def test_top_level_keys_match_fixture(samples, fixture_keys):
    mismatches = {}
    for name, obj in samples.items():
        keys = _keys(obj)
        if keys != fixture_keys[name]:
            mismatches[name] = {
                "extra": sorted(keys - fixture_keys[name]),
                "missing": sorted(fixture_keys[name] - keys),
            }
    assert not mismatches, mismatches
    assert len(samples) == 27


def test_webhook_endpoint_secret_only_on_create(stripe_client, stripe_emulator_fresh):
    created = stripe_client.v1.webhook_endpoints.create(
        params={"url": "http://127.0.0.1:9/x", "enabled_events": ["invoice.paid"]}
    )
    assert created.secret.startswith("whsec_")
    assert "secret" not in stripe_client.v1.webhook_endpoints.retrieve(created.id)
