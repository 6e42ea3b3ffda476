"""Card payment methods, including Stripe's magic test ids and card numbers."""

from __future__ import annotations

import hashlib

from ..encoding import apply_metadata, get_int, get_str
from ..errors import StripeError, card_declined, invalid, missing_param, not_found
from ..events import emit, mutate
from ..routing import route
from ..state import new_id
from .base import address, list_objects, retrieve, update

# Test card number -> (brand, behaviour). Behaviours: ok; attach_decline (refused as soon as it is
# attached or set up, like 4000000000000002); charge_fail (attaches, every charge is declined);
# auth_required (every payment needs 3-D Secure: PaymentIntents go to requires_action);
# auth_on_setup (needs 3-D Secure once, when set up or on its first payment; off-session payments
# after that succeed, like 4000002500003155).
CARDS = {
    "4242424242424242": ("visa", "ok"),
    "5555555555554444": ("mastercard", "ok"),
    "378282246310005": ("amex", "ok"),
    "4000000000000002": ("visa", "attach_decline"),
    "4000000000000341": ("visa", "charge_fail"),
    "4000002760003184": ("visa", "auth_required"),
    "4000002500003155": ("visa", "auth_on_setup"),
}
MAGIC = {
    "visa": "4242424242424242",
    "mastercard": "5555555555554444",
    "amex": "378282246310005",
    "chargeDeclined": "4000000000000002",
    "chargeCustomerFail": "4000000000000341",
    "authenticationRequired": "4000002760003184",
    "authenticationRequiredOnSetup": "4000002500003155",
}


def _luhn_ok(number):
    digits = [int(d) for d in number][::-1]
    total = sum(
        d if i % 2 == 0 else (d * 2 - 9 if d * 2 > 9 else d * 2) for i, d in enumerate(digits)
    )
    return total % 10 == 0


def _brand(number):
    if number.startswith("4"):
        return "visa"
    if number[:2] in ("51", "52", "53", "54", "55") or number.startswith("2"):
        return "mastercard"
    if number[:2] in ("34", "37"):
        return "amex"
    return "unknown"


def build_card_pm(state, number, exp_month=12, exp_year=2034, billing_details=None, metadata=None):
    """Store a new ``pm_`` card payment method for a card number."""
    if not number.isdigit() or not _luhn_ok(number):
        raise card_declined(
            "Your card number is incorrect.",
            code="incorrect_number",
            decline_code=None,
            param="card[number]",
        )
    brand, behaviour = CARDS.get(number, (_brand(number), "ok"))
    billing = billing_details if isinstance(billing_details, dict) else {}
    pm = {
        "id": new_id("pm"),
        "object": "payment_method",
        "allow_redisplay": "unspecified",
        "billing_details": {
            "address": address(billing.get("address")),
            "email": billing.get("email"),
            "name": billing.get("name"),
            "phone": billing.get("phone"),
            "tax_id": None,
        },
        "card": {
            "brand": brand,
            "checks": {
                "address_line1_check": None,
                "address_postal_code_check": None,
                "cvc_check": "pass",
            },
            "country": "US",
            "display_brand": brand,
            "exp_month": exp_month,
            "exp_year": exp_year,
            # Stripe's fingerprint identifies the card number across payment methods.
            "fingerprint": hashlib.sha256(number.encode()).hexdigest()[:16],
            "funding": "credit",
            "generated_from": None,
            "last4": number[-4:],
            "networks": {"available": [brand], "preferred": None},
            "three_d_secure_usage": {"supported": True},
            "wallet": None,
            "regulated_status": "unregulated",
        },
        "created": state.now(),
        "customer": None,
        "customer_account": None,
        "livemode": False,
        "metadata": dict(metadata or {}),
        "type": "card",
        "_behavior": behaviour,
    }
    return state.add(pm)


def resolve_payment_method(state, value, param="payment_method"):
    """A stored payment method for an id; a magic ``pm_card_*`` id (or ``tok_*``) makes a fresh one."""
    if not value:
        raise missing_param(param)
    for prefix in ("pm_card_", "tok_"):
        if value.startswith(prefix):
            name = value[len(prefix) :]
            if name in MAGIC:
                return build_card_pm(state, MAGIC[name])
    pm = state.find(value, "payment_method")
    if pm is None:
        raise not_found("PaymentMethod", value, param=param)
    return pm


def behaviour(pm):
    """How a card reacts to charges: ok, attach_decline, charge_fail, auth_required or
    auth_on_setup (which behaves as ok once the customer has authenticated it)."""
    kind = (pm or {}).get("_behavior", "ok")
    if kind == "auth_on_setup" and (pm or {}).get("_authenticated"):
        return "ok"
    return kind


def needs_authentication(pm, *, off_session):
    """Whether a payment with this card goes to requires_action before the customer authenticates:
    always for auth_required; for auth_on_setup until it was authenticated once, after which
    off-session payments pass (on-session ones keep asking, as Stripe's 3155 card does)."""
    kind = (pm or {}).get("_behavior", "ok")
    if kind == "auth_required":
        return True
    if kind == "auth_on_setup":
        return not (off_session and pm.get("_authenticated"))
    return False


def mark_authenticated(state, pm):
    """The customer passed 3-D Secure with this card: an auth_on_setup card is set up for later
    off-session payments."""
    if pm is not None and pm.get("_behavior") == "auth_on_setup" and not pm.get("_authenticated"):
        pm["_authenticated"] = True
        state.dirty = True


def attach(state, pm, customer_id):
    """Attach to a customer (402 card_declined for cards refused at attach, like 4000000000000002)."""
    if behaviour(pm) == "attach_decline":
        raise card_declined()
    if pm["customer"] == customer_id:
        return pm
    if pm["customer"] is not None:
        raise invalid(
            "The payment method you provided has already been attached to a customer.",
            param="payment_method",
            code="payment_method_unexpected_state",
        )
    pm["customer"] = customer_id
    pm["created"] = state.now(customer_id)
    state.dirty = True
    emit(state, "payment_method.attached", pm)
    return pm


@route("POST", "/v1/payment_methods")
def create_payment_method(ctx):
    p = ctx.params
    kind = get_str(p, "type", required=True)
    from .debits import create as create_debit_method  # SEPA Direct Debit and PayPal

    created = create_debit_method(ctx.state, kind, p)
    if created is not None:
        return ctx.out(created)
    if kind != "card":
        raise invalid(f"The emulator only supports card payment methods, not {kind}.", param="type")
    card = p.get("card")
    if not isinstance(card, dict):
        raise missing_param("card")
    if card.get("token"):
        return ctx.out(resolve_payment_method(ctx.state, card["token"], param="card[token]"))
    number = get_str(card, "number", required=True).replace(" ", "")
    pm = build_card_pm(
        ctx.state,
        number,
        get_int(card, "exp_month", default=12),
        get_int(card, "exp_year", default=2034),
        p.get("billing_details"),
    )
    apply_metadata(pm, p)
    return ctx.out(pm)


@route("GET", "/v1/payment_methods")
def list_payment_methods(ctx):
    return list_objects(
        ctx, "payment_method", "/v1/payment_methods", ("customer", "customer"), ("type", "type")
    )


@route("GET", "/v1/payment_methods/{id}")
def get_payment_method(ctx, id):
    return retrieve(ctx, "payment_method", id)


@route("POST", "/v1/payment_methods/{id}")
def update_payment_method(ctx, id):
    def apply(pm):
        card = ctx.params.get("card") or {}
        for key in ("exp_month", "exp_year"):
            if key in card:
                pm["card"][key] = get_int(card, key)
        details = ctx.params.get("billing_details")
        if isinstance(details, dict):
            for key in ("email", "name", "phone"):
                if key in details:
                    pm["billing_details"][key] = details[key] or None

    return update(ctx, "payment_method", id, apply=apply)


@route("POST", "/v1/payment_methods/{id}/attach")
def attach_payment_method(ctx, id):
    customer = get_str(ctx.params, "customer", required=True)
    ctx.state.get("customer", customer, param="customer")
    pm = resolve_payment_method(ctx.state, id, param="payment_method")
    return ctx.out(attach(ctx.state, pm, customer))


@route("POST", "/v1/payment_methods/{id}/detach")
def detach_payment_method(ctx, id):
    pm = ctx.state.get("payment_method", id)
    if pm["customer"] is None:
        raise StripeError(
            400,
            "The payment method you provided is not attached to a customer so detachment "
            "is impossible.",
            code="payment_method_unexpected_state",
        )
    customer = ctx.state.find(pm["customer"], "customer")
    if customer and customer["invoice_settings"]["default_payment_method"] == id:
        # Stripe clears the default when the card behind it is detached.
        mutate(
            ctx.state,
            customer,
            lambda c: c["invoice_settings"].update(default_payment_method=None),
            "customer.updated",
        )
    pm["customer"] = None
    ctx.state.dirty = True
    emit(
        ctx.state,
        "payment_method.detached",
        pm,
        previous={"customer": customer["id"] if customer else None},
    )
    return ctx.out(pm)
