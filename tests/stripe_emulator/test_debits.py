"""SEPA Direct Debit (processing, then settled by the test IBAN) and PayPal (approval page) in the emulator."""

import json
import urllib.error
import urllib.parse
import urllib.request

import pytest
import stripe

from .helpers import DAY, T0, advance, recurring_price


def _control(server, path, payload=None):
    request = urllib.request.Request(
        server.url + path, data=json.dumps(payload or {}).encode(), method="POST"
    )
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())


def _sepa_customer(client, iban, clock=None):
    params = {"email": "finance@globex.test", "name": "Globex GmbH"}
    if clock:
        params["test_clock"] = clock
    customer = client.v1.customers.create(params=params)
    pm = client.v1.payment_methods.create(
        params={
            "type": "sepa_debit",
            "sepa_debit": {"iban": iban},
            "billing_details": {"name": "Globex GmbH", "email": "finance@globex.test"},
        }
    )
    seti = client.v1.setup_intents.create(
        params={
            "customer": customer.id,
            "payment_method": pm.id,
            "payment_method_types": ["sepa_debit"],
            "confirm": True,
            "mandate_data": {
                "customer_acceptance": {
                    "type": "online",
                    "online": {"ip_address": "203.0.113.7", "user_agent": "pytest"},
                }
            },
        }
    )
    client.v1.customers.update(
        customer.id, params={"invoice_settings": {"default_payment_method": pm.id}}
    )
    return customer, pm, seti


def test_a_sepa_payment_method_describes_the_account(stripe_client, stripe_emulator_fresh):
    customer, pm, seti = _sepa_customer(stripe_client, "DE89 3704 0044 0532 0130 00")
    assert pm.type == "sepa_debit"
    assert (pm.sepa_debit.country, pm.sepa_debit.last4, pm.sepa_debit.bank_code) == (
        "DE",
        "3000",
        "37040044",
    )
    assert seti.status == "succeeded" and seti.mandate.startswith("mandate_")
    mandate = stripe_client.v1.mandates.retrieve(seti.mandate)
    assert mandate.customer_acceptance.online.ip_address == "203.0.113.7"
    assert mandate.payment_method == pm.id and mandate.status == "active"
    assert stripe_client.v1.payment_methods.retrieve(pm.id).customer == customer.id


def test_an_invalid_iban_is_refused(stripe_client, stripe_emulator_fresh):
    with pytest.raises(stripe.InvalidRequestError) as caught:
        stripe_client.v1.payment_methods.create(
            params={"type": "sepa_debit", "sepa_debit": {"iban": "DE00370400440532013000"}}
        )
    assert caught.value.code == "invalid_bank_account_iban"
    assert caught.value.param == "sepa_debit[iban]"


def test_a_sepa_setup_needs_a_mandate(stripe_client, stripe_emulator_fresh):
    customer = stripe_client.v1.customers.create(params={"email": "a@example.com"})
    pm = stripe_client.v1.payment_methods.create(
        params={"type": "sepa_debit", "sepa_debit": {"iban": "AT611904300234573201"}}
    )
    with pytest.raises(stripe.InvalidRequestError) as caught:
        stripe_client.v1.setup_intents.create(
            params={
                "customer": customer.id,
                "payment_method": pm.id,
                "payment_method_types": ["sepa_debit"],
                "confirm": True,
            }
        )
    assert caught.value.param == "mandate_data"


@pytest.mark.parametrize(
    ("iban", "settled"),
    [
        ("AT611904300234573201", "paid"),
        ("DE89370400440532013000", "paid"),
        ("AT861904300235473202", "open"),
    ],
)
def test_a_subscription_paid_by_sepa_is_processing_until_the_clock_moves(
    stripe_client, stripe_emulator_fresh, webhook_sink, iban, settled
):
    client = stripe_client
    clock = client.v1.test_helpers.test_clocks.create(params={"frozen_time": T0})
    customer, pm, _ = _sepa_customer(client, iban, clock=clock.id)
    price = recurring_price(client, amount=2900, currency="eur")
    sub = client.v1.subscriptions.create(
        params={
            "customer": customer.id,
            "items": [{"price": price.id}],
            "expand": ["latest_invoice.payments"],
        }
    )
    assert sub.status == "active"  # Stripe: a processing first payment activates it
    invoice = sub.latest_invoice
    assert invoice.status == "open" and invoice.attempted
    pi = client.v1.payment_intents.retrieve(invoice.payments.data[0].payment.payment_intent)
    assert pi.status == "processing"
    charge = client.v1.charges.retrieve(pi.latest_charge)
    assert charge.status == "pending"
    assert charge.payment_method_details.sepa_debit.last4 == iban[-4:]

    # Paying again while it processes never debits twice.
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.invoices.pay(invoice.id)

    advance(client, clock.id, T0 + DAY)
    invoice = client.v1.invoices.retrieve(invoice.id)
    pi = client.v1.payment_intents.retrieve(pi.id)
    sub = client.v1.subscriptions.retrieve(sub.id)
    assert invoice.status == settled
    if settled == "paid":
        assert pi.status == "succeeded" and sub.status == "active"
        assert client.v1.charges.retrieve(pi.latest_charge).status == "succeeded"
    else:
        assert pi.status == "requires_payment_method"
        assert pi.last_payment_error.code == "insufficient_funds"
        assert sub.status == "past_due"
        assert client.v1.charges.retrieve(pi.latest_charge).status == "failed"
    types = [e["type"] for e in webhook_sink.events()]
    assert "payment_intent.processing" in types and "charge.pending" in types
    assert ("invoice.paid" in types) == (settled == "paid")
    assert ("invoice.payment_failed" in types) == (settled != "paid")


def test_the_settle_control_call_settles_a_payment_now(
    stripe_client, stripe_emulator_fresh, stripe_emulator
):
    client = stripe_client
    customer, pm, _ = _sepa_customer(client, "AT611904300234573201")
    pi = client.v1.payment_intents.create(
        params={
            "amount": 1500,
            "currency": "eur",
            "customer": customer.id,
            "payment_method": pm.id,
            "payment_method_types": ["sepa_debit"],
            "confirm": True,
            "off_session": True,
        }
    )
    assert pi.status == "processing"
    settled = _control(stripe_emulator, "/_emulator/settle", {"payment_intent": pi.id})
    assert settled["data"] == [{"payment_intent": pi.id, "outcome": "succeeded"}]
    assert client.v1.payment_intents.retrieve(pi.id).status == "succeeded"


SEPA_USD_MESSAGE = (
    "The currency provided (usd) is invalid for one or more payment method types on this "
    "PaymentIntent. The payment method type sepa_debit only supports the following currencies: "
    "eur. Either correct the provided currency, or use a different PaymentIntent to accept this "
    "payment method type."
)


def _assert_sepa_currency_error(exc_info):
    error = exc_info.value
    assert error.http_status == 400
    assert error.error.type == "invalid_request_error"
    assert error.code == "payment_intent_invalid_parameter"
    assert error.user_message == SEPA_USD_MESSAGE


def test_a_sepa_method_cannot_pay_a_usd_payment_intent(stripe_client, stripe_emulator_fresh):
    client = stripe_client
    customer, pm, _ = _sepa_customer(client, "AT611904300234573201")
    with pytest.raises(stripe.InvalidRequestError) as exc_info:
        client.v1.payment_intents.create(
            params={
                "amount": 1500,
                "currency": "usd",
                "customer": customer.id,
                "payment_method": pm.id,
                "confirm": True,
                "off_session": True,
            }
        )
    _assert_sepa_currency_error(exc_info)
    assert not client.v1.charges.list(params={"customer": customer.id}).data


def test_a_usd_subscription_or_invoice_is_refused_for_a_sepa_default(
    stripe_client, stripe_emulator_fresh
):
    client = stripe_client
    customer, pm, _ = _sepa_customer(client, "AT611904300234573201")
    price = recurring_price(client, amount=2900, currency="usd")
    with pytest.raises(stripe.InvalidRequestError) as exc_info:
        client.v1.subscriptions.create(
            params={"customer": customer.id, "items": [{"price": price.id}]}
        )
    _assert_sepa_currency_error(exc_info)
    assert not client.v1.subscriptions.list(params={"customer": customer.id}).data

    client.v1.invoice_items.create(
        params={"customer": customer.id, "amount": 1200, "currency": "usd"}
    )
    invoice = client.v1.invoices.create(
        params={"customer": customer.id, "pending_invoice_items_behavior": "include"}
    )
    client.v1.invoices.finalize_invoice(invoice.id)
    with pytest.raises(stripe.InvalidRequestError) as exc_info:
        client.v1.invoices.pay(invoice.id)
    _assert_sepa_currency_error(exc_info)
    assert client.v1.invoices.retrieve(invoice.id).status == "open"


def test_a_usd_renewal_with_a_sepa_default_fails_as_a_payment(
    stripe_client, stripe_emulator_fresh, webhook_sink
):
    """Off-session collection cannot answer a 400: the renewal's payment fails (no debit)."""
    from .helpers import customer_with_card

    client = stripe_client
    clock = client.v1.test_helpers.test_clocks.create(params={"frozen_time": T0})
    customer, _card = customer_with_card(client, clock=clock.id)
    price = recurring_price(client, amount=2900, currency="usd")
    sub = client.v1.subscriptions.create(
        params={"customer": customer.id, "items": [{"price": price.id}]}
    )
    assert sub.status == "active"
    pm = client.v1.payment_methods.create(
        params={"type": "sepa_debit", "sepa_debit": {"iban": "AT611904300234573201"}}
    )
    client.v1.setup_intents.create(
        params={
            "customer": customer.id,
            "payment_method": pm.id,
            "payment_method_types": ["sepa_debit"],
            "confirm": True,
            "mandate_data": {"customer_acceptance": {"type": "offline"}},
        }
    )
    client.v1.customers.update(
        customer.id, params={"invoice_settings": {"default_payment_method": pm.id}}
    )
    advance(client, clock.id, T0 + 32 * DAY)
    sub = client.v1.subscriptions.retrieve(sub.id)
    renewal = client.v1.invoices.retrieve(sub.latest_invoice)
    assert renewal.status == "open" and sub.status == "past_due"
    pi = client.v1.payment_intents.retrieve(
        client.v1.invoices.retrieve(renewal.id, params={"expand": ["payments"]})
        .payments.data[0]
        .payment.payment_intent
    )
    assert pi.last_payment_error.code == "payment_intent_invalid_parameter"
    assert pi.status != "processing"
    types = [e["type"] for e in webhook_sink.events()]
    assert "invoice.payment_failed" in types and "payment_intent.processing" not in types


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _post_form(url, fields):
    opener = urllib.request.build_opener(_NoRedirect)
    request = urllib.request.Request(url, data=urllib.parse.urlencode(fields).encode())
    try:
        with opener.open(request) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read().decode()


def _paypal_setup(client):
    customer = client.v1.customers.create(params={"email": "jenny@example.com"})
    pm = client.v1.payment_methods.create(params={"type": "paypal"})
    seti = client.v1.setup_intents.create(
        params={
            "customer": customer.id,
            "payment_method": pm.id,
            "payment_method_types": ["paypal"],
            "confirm": True,
            "return_url": "http://globex.localhost:8000/payment-methods/paypal/return?x=1",
        }
    )
    return customer, pm, seti


def test_paypal_is_approved_on_its_page_then_pays_off_session(stripe_client, stripe_emulator_fresh):
    client = stripe_client
    customer, pm, seti = _paypal_setup(client)
    assert seti.status == "requires_action"
    assert seti.next_action.type == "redirect_to_url"
    page = seti.next_action.redirect_to_url.url
    with urllib.request.urlopen(page) as response:
        assert "Agree and continue" in response.read().decode()

    status, headers, _ = _post_form(page, {"action": "approve", "email": "jenny@example.com"})
    assert status == 303
    location = urllib.parse.urlsplit(headers["Location"])
    query = urllib.parse.parse_qs(location.query)
    assert location.path == "/payment-methods/paypal/return"
    assert query["redirect_status"] == ["succeeded"] and query["setup_intent"] == [seti.id]

    pm = client.v1.payment_methods.retrieve(pm.id)
    assert pm.customer == customer.id and pm.paypal.payer_email == "jenny@example.com"
    pi = client.v1.payment_intents.create(
        params={
            "amount": 2900,
            "currency": "eur",
            "customer": customer.id,
            "payment_method": pm.id,
            "confirm": True,
            "off_session": True,
        }
    )
    assert pi.status == "succeeded"
    charge = client.v1.charges.retrieve(pi.latest_charge)
    assert charge.payment_method_details.type == "paypal"
    assert charge.payment_method_details.paypal.payer_email == "jenny@example.com"


def test_a_declined_paypal_approval_attaches_nothing(stripe_client, stripe_emulator_fresh):
    client = stripe_client
    customer, pm, seti = _paypal_setup(client)
    status, headers, _ = _post_form(seti.next_action.redirect_to_url.url, {"action": "decline"})
    assert status == 303 and "redirect_status=failed" in headers["Location"]
    seti = client.v1.setup_intents.retrieve(seti.id)
    assert seti.status == "requires_payment_method"
    assert client.v1.payment_methods.retrieve(pm.id).customer is None
