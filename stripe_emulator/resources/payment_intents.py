"""PaymentIntents: creation, confirmation against the test cards, cancel."""

from __future__ import annotations

import secrets

from ..encoding import diff, get_bool, get_int, get_list, get_str
from ..errors import StripeError, card_declined, invalid
from ..events import emit, mutate
from ..routing import route
from ..state import new_id
from .base import list_objects, retrieve, search_objects, update
from .charges import DECLINE_MESSAGE, create_charge
from .payment_methods import (
    attach,
    behaviour,
    mark_authenticated,
    needs_authentication,
    resolve_payment_method,
)

ZERO_DECIMAL = {
    "bif",
    "clp",
    "djf",
    "gnf",
    "jpy",
    "kmf",
    "krw",
    "mga",
    "pyg",
    "rwf",
    "ugx",
    "vnd",
    "vuv",
    "xaf",
    "xof",
    "xpf",
}


def new_payment_intent(
    state,
    amount,
    currency,
    customer,
    payment_method=None,
    description=None,
    metadata=None,
    invoice=None,
    setup_future_usage=None,
):
    """Store a PaymentIntent (requires_payment_method or requires_confirmation) and emit created."""
    pid = new_id("pi")
    pi = {
        "id": pid,
        "object": "payment_intent",
        "amount": amount,
        "amount_capturable": 0,
        "amount_details": {"tip": {}},
        "amount_received": 0,
        "application": None,
        "application_fee_amount": None,
        "automatic_payment_methods": None,
        "canceled_at": None,
        "cancellation_reason": None,
        "capture_method": "automatic",
        "client_secret": f"{pid}_secret_{secrets.token_urlsafe(18)}",
        "confirmation_method": "automatic",
        "created": state.now(customer),
        "currency": currency,
        "customer": customer,
        "customer_account": None,
        "description": description,
        "excluded_payment_method_types": None,
        "last_payment_error": None,
        "latest_charge": None,
        "livemode": False,
        "managed_payments": None,
        "metadata": dict(metadata or {}),
        "next_action": None,
        "on_behalf_of": None,
        "payment_method": payment_method,
        "payment_method_configuration_details": None,
        "payment_method_options": {
            "card": {
                "installments": None,
                "mandate_options": None,
                "network": None,
                "request_three_d_secure": "automatic",
            }
        },
        "payment_method_types": ["card"],
        "processing": None,
        "receipt_email": None,
        "review": None,
        "setup_future_usage": setup_future_usage,
        "shipping": None,
        "source": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": "requires_confirmation" if payment_method else "requires_payment_method",
        "transfer_data": None,
        "transfer_group": None,
        "_invoice": invoice,
    }
    state.add(pi)
    emit(state, "payment_intent.created", pi)
    return pi


def authentication_next_action(state, pi):
    """Stripe's next_action for 3-D Secure: `redirect_to_url` when the confirmation gave a
    return_url, else `use_stripe_sdk`; both point at the emulator's authentication page
    (stripe_emulator.authentication), where a person completes or fails the challenge."""
    page = f"{state.public_url}/_emulator/3ds/{pi['id']}"
    if pi.get("_return_url"):
        return {
            "type": "redirect_to_url",
            "redirect_to_url": {"return_url": pi["_return_url"], "url": page},
        }
    return {
        "type": "use_stripe_sdk",
        "use_stripe_sdk": {"type": "three_d_secure_redirect", "stripe_js": page},
    }


def confirm(state, pi, payment_method=None, off_session=False, authenticated=None):
    """Attempt the payment with the card's test behaviour; returns succeeded/failed/requires_action.

    A second confirmation of a PaymentIntent in ``requires_action`` with the same card stands in
    for the customer completing 3-D Secure, which the emulator cannot show.
    """
    if pi["status"] in ("succeeded", "canceled"):
        raise invalid(
            f"This PaymentIntent's status is {pi['status']}, so it cannot be confirmed.",
            code="payment_intent_unexpected_state",
        )
    pm_id = payment_method or pi["payment_method"]
    if not pm_id:
        raise invalid(
            "You cannot confirm this PaymentIntent because it's missing a payment method. "
            "Update the PaymentIntent with a payment method and then confirm it again.",
            code="payment_intent_unexpected_state",
        )
    pm = resolve_payment_method(state, pm_id)
    from .debits import check_currency, is_delayed, submit  # SEPA: processing, settles later

    # Stripe refuses a method that cannot pay in the intent's currency (SEPA: EUR only) before
    # any attempt: no charge, no event, the intent unchanged.
    check_currency(pm, pi["currency"])
    if pm["customer"] is None and pi["customer"] and pi["setup_future_usage"]:
        attach(state, pm, pi["customer"])

    if pi["status"] == "processing" or is_delayed(pm):
        return submit(state, pi, pm)
    # Off-session attempts (invoice collection) can never pass the 3-D Secure stand-in.
    if authenticated is None:
        authenticated = (
            not off_session
            and pi["status"] == "requires_action"
            and pi["payment_method"] == pm["id"]
        )
    kind = behaviour(pm)
    before = state.render(pi)
    pi["payment_method"] = pm["id"]
    # An invoice's PaymentIntent takes the types of the methods it may be paid with (the invoice's
    # payment_settings, else the customer's and subscription's defaults): a PayPal renewal is `paypal`.
    if pi.get("_invoice") and pm["type"] not in pi["payment_method_types"]:
        pi["payment_method_types"] = [*pi["payment_method_types"], pm["type"]]
    if needs_authentication(pm, off_session=off_session) and not authenticated:
        pi.update(status="requires_action", next_action=authentication_next_action(state, pi))
        outcome, event = "requires_action", "payment_intent.requires_action"
    else:
        if authenticated:
            mark_authenticated(state, pm)
        succeeded = kind in ("ok", "auth_required", "auth_on_setup")
        charge = create_charge(state, pi, pm, succeeded)
        pi.update(latest_charge=charge["id"], next_action=None)
        if succeeded:
            pi.update(status="succeeded", amount_received=pi["amount"], last_payment_error=None)
            outcome, event = "succeeded", "payment_intent.succeeded"
        else:
            pi.update(
                status="requires_payment_method",
                last_payment_error={
                    "type": "card_error",
                    "code": "card_declined",
                    "decline_code": "generic_decline",
                    "message": DECLINE_MESSAGE,
                    "charge": charge["id"],
                    "payment_method": state.render(pm),
                    "doc_url": "https://stripe.com/docs/error-codes/card-declined",
                },
            )
            outcome, event = "failed", "payment_intent.payment_failed"
    state.dirty = True
    emit(state, event, pi, previous=diff(before, state.render(pi)))
    if pi.get("_invoice"):
        from ..billing import after_invoice_payment  # billing builds on payments, not the reverse

        after_invoice_payment(state, pi, outcome)
    return outcome


def confirm_or_raise(state, pi, payment_method=None, off_session=False):
    """``confirm`` for API callers: a decline becomes Stripe's 402 carrying the PaymentIntent."""
    outcome = confirm(state, pi, payment_method, off_session=off_session)
    if outcome == "failed":
        err = pi["last_payment_error"]
        raise card_declined(
            err["message"], extra={"payment_intent": state.render(pi), "charge": err["charge"]}
        )
    return outcome


@route("POST", "/v1/payment_intents")
def create_payment_intent(ctx):
    p = ctx.params
    amount = get_int(p, "amount", required=True)
    currency = get_str(p, "currency", required=True).lower()
    if amount < 1:
        raise invalid("This value must be greater than or equal to 1.", param="amount")
    customer = get_str(p, "customer")
    if customer:
        ctx.state.get("customer", customer, param="customer")
    from .debits import currency_error

    for kind in get_list(p, "payment_method_types"):
        error = currency_error(kind, currency)
        if error is not None:
            raise error
    pm = get_str(p, "payment_method")
    if pm:
        pm = resolve_payment_method(ctx.state, pm)["id"]
    pi = new_payment_intent(
        ctx.state,
        amount,
        currency,
        customer,
        pm,
        get_str(p, "description"),
        p.get("metadata"),
        setup_future_usage=get_str(p, "setup_future_usage"),
    )
    if isinstance(p.get("automatic_payment_methods"), dict):
        pi["automatic_payment_methods"] = {
            "allow_redirects": "always",
            "enabled": get_bool(p["automatic_payment_methods"], "enabled", True),
        }
    if get_bool(p, "confirm", False):
        off_session = get_bool(p, "off_session", False)
        outcome = confirm_or_raise(ctx.state, pi, off_session=off_session)
        if outcome == "requires_action" and off_session:
            # Stripe: an off-session payment the bank wants authenticated fails with
            # authentication_required, and the intent waits for a payment method again.
            pi.update(
                status="requires_payment_method",
                next_action=None,
                last_payment_error={
                    "type": "card_error",
                    "code": "authentication_required",
                    "decline_code": "authentication_required",
                    "message": "Your card was declined. This transaction requires authentication.",
                    "payment_method": ctx.state.render(
                        ctx.state.get("payment_method", pi["payment_method"])
                    ),
                    "doc_url": "https://stripe.com/docs/error-codes/authentication-required",
                },
            )
            ctx.state.dirty = True
            raise card_declined(
                pi["last_payment_error"]["message"],
                code="authentication_required",
                decline_code="authentication_required",
                extra={"payment_intent": ctx.state.render(pi)},
            )
    return ctx.out(pi)


@route("GET", "/v1/payment_intents/search")
def search_payment_intents(ctx):
    return search_objects(ctx, "payment_intent", "/v1/payment_intents/search")


@route("GET", "/v1/payment_intents")
def list_payment_intents(ctx):
    return list_objects(ctx, "payment_intent", "/v1/payment_intents", ("customer", "customer"))


@route("GET", "/v1/payment_intents/{id}")
def get_payment_intent(ctx, id):
    return retrieve(ctx, "payment_intent", id)


@route("POST", "/v1/payment_intents/{id}")
def update_payment_intent(ctx, id):
    def apply(pi):
        if pi["status"] == "succeeded" and (
            "amount" in ctx.params or "payment_method" in ctx.params
        ):
            raise invalid(
                "This PaymentIntent's amount could not be updated because it has a status of "
                "succeeded.",
                code="payment_intent_unexpected_state",
            )
        if "amount" in ctx.params:
            pi["amount"] = get_int(ctx.params, "amount")
        if ctx.params.get("payment_method"):
            pi["payment_method"] = resolve_payment_method(ctx.state, ctx.params["payment_method"])[
                "id"
            ]
            pi["status"] = "requires_confirmation"

    return update(
        ctx, "payment_intent", id, ("description", "receipt_email", "setup_future_usage"), apply
    )


@route("POST", "/v1/payment_intents/{id}/confirm")
def confirm_payment_intent(ctx, id):
    pi = ctx.state.get("payment_intent", id)
    pm = get_str(ctx.params, "payment_method")
    if get_str(ctx.params, "setup_future_usage"):
        pi["setup_future_usage"] = ctx.params["setup_future_usage"]
    if get_str(ctx.params, "return_url"):
        pi["_return_url"] = ctx.params["return_url"]
    confirm_or_raise(ctx.state, pi, pm)
    return ctx.out(pi)


@route("POST", "/v1/payment_intents/{id}/cancel")
def cancel_payment_intent(ctx, id):
    pi = ctx.state.get("payment_intent", id)
    if pi["status"] in ("succeeded", "canceled"):
        raise StripeError(
            400,
            f"You cannot cancel this PaymentIntent because it has a status of {pi['status']}.",
            code="payment_intent_unexpected_state",
        )
    if pi.get("_invoice"):
        raise invalid(
            "You cannot cancel this PaymentIntent because it was created by an invoice.",
            code="payment_intent_unexpected_state",
        )

    def change(obj):
        obj.update(
            status="canceled",
            canceled_at=ctx.state.now(obj["customer"]),
            cancellation_reason=get_str(ctx.params, "cancellation_reason")
            or "requested_by_customer",
        )

    mutate(ctx.state, pi, change, "payment_intent.canceled")
    return ctx.out(pi)
