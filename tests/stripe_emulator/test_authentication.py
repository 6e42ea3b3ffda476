"""3-D Secure in the emulator: Stripe's magic cards that ask for authentication, PaymentIntents in
`requires_action` with a `next_action` naming the emulator's authentication page, and that page
completing or failing the challenge (an invoice's payment included)."""

import requests

from .helpers import customer_with_card, recurring_price


def _subscribe(stripe_client, card):
    customer, pm = customer_with_card(stripe_client, card=card)
    sub = stripe_client.v1.subscriptions.create(
        params={
            "customer": customer.id,
            "items": [{"price": recurring_price(stripe_client).id}],
            "expand": ["latest_invoice.payments"],
        }
    )
    intent_id = sub.latest_invoice.payments.data[0].payment.payment_intent
    return customer, pm, sub, stripe_client.v1.payment_intents.retrieve(intent_id)


def test_the_page_named_by_next_action_completes_the_payment(stripe_client, stripe_emulator_fresh):
    _, _, sub, pi = _subscribe(stripe_client, "pm_card_authenticationRequired")
    assert sub.status == "incomplete" and pi.status == "requires_action"
    page = pi.next_action.use_stripe_sdk.stripe_js
    assert page == f"{stripe_emulator_fresh.url}/_emulator/3ds/{pi.id}"
    events = {e.type for e in stripe_client.v1.events.list(params={"limit": 100}).data}
    assert {"invoice.payment_action_required", "payment_intent.requires_action"} <= events

    shown = requests.get(page, timeout=10)
    assert shown.status_code == 200 and "Complete authentication" in shown.text
    back = requests.post(
        page,
        data={"action": "complete", "return_url": "http://acme.localhost:8000/done/?x=1"},
        allow_redirects=False,
        timeout=10,
    )
    assert back.status_code == 303
    assert back.headers["Location"].startswith(
        f"http://acme.localhost:8000/done/?x=1&payment_intent={pi.id}&payment_intent_client_secret="
    )
    assert stripe_client.v1.payment_intents.retrieve(pi.id).status == "succeeded"
    assert stripe_client.v1.invoices.retrieve(sub.latest_invoice.id).status == "paid"
    assert stripe_client.v1.subscriptions.retrieve(sub.id).status == "active"


def test_a_failed_authentication_leaves_the_invoice_open(stripe_client, stripe_emulator_fresh):
    _, _, sub, pi = _subscribe(stripe_client, "pm_card_authenticationRequired")
    requests.post(
        f"{stripe_emulator_fresh.url}/_emulator/3ds/{pi.id}", data={"action": "fail"}, timeout=10
    )
    failed = stripe_client.v1.payment_intents.retrieve(pi.id)
    assert failed.status == "requires_payment_method"
    assert failed.last_payment_error.code == "payment_intent_authentication_failure"
    invoice = stripe_client.v1.invoices.retrieve(sub.latest_invoice.id)
    assert invoice.status == "open" and invoice.attempt_count == 2
    events = [e.type for e in stripe_client.v1.events.list(params={"limit": 100}).data]
    assert "invoice.payment_failed" in events
    # Payable later: the server-side pay asks for authentication again.
    assert stripe_client.v1.subscriptions.retrieve(sub.id).status == "incomplete"


def test_authentication_required_on_setup_asks_once_then_renewals_pass(
    stripe_client, stripe_emulator_fresh
):
    customer, pm, sub, pi = _subscribe(stripe_client, "pm_card_authenticationRequiredOnSetup")
    assert pm.card.last4 == "3155" and pi.status == "requires_action"
    requests.post(
        f"{stripe_emulator_fresh.url}/_emulator/3ds/{pi.id}",
        data={"action": "complete"},
        timeout=10,
    )
    assert stripe_client.v1.subscriptions.retrieve(sub.id).status == "active"
    # An off-session payment with the now authenticated card passes without the customer.
    item = stripe_client.v1.invoice_items.create(
        params={"customer": customer.id, "amount": 500, "currency": "usd"}
    )
    invoice = stripe_client.v1.invoices.create(
        params={"customer": customer.id, "pending_invoice_items_behavior": "include"}
    )
    assert item.id
    paid = stripe_client.v1.invoices.pay(invoice.id)
    assert paid.status == "paid"

    # The always-asking card never passes off-session.
    other, _ = customer_with_card(stripe_client, card="pm_card_authenticationRequired")
    stripe_client.v1.invoice_items.create(
        params={"customer": other.id, "amount": 500, "currency": "usd"}
    )
    again = stripe_client.v1.invoices.create(
        params={"customer": other.id, "pending_invoice_items_behavior": "include"}
    )
    try:
        stripe_client.v1.invoices.pay(again.id)
    except Exception as exc:  # stripe.CardError
        assert getattr(exc, "code", "") == "invoice_payment_intent_requires_action"
    else:
        raise AssertionError(
            "an invoice paid off-session with the 3184 card must need the customer"
        )


def test_a_setup_intent_asks_once_for_the_setup_card(stripe_client, stripe_emulator_fresh):
    customer = stripe_client.v1.customers.create()
    seti = stripe_client.v1.setup_intents.create(
        params={"customer": customer.id, "payment_method": "pm_card_authenticationRequiredOnSetup"}
    )
    seti = stripe_client.v1.setup_intents.confirm(seti.id)
    assert seti.status == "requires_action"
    seti = stripe_client.v1.setup_intents.confirm(seti.id)  # the stand-in for passing 3-D Secure
    assert seti.status == "succeeded"
