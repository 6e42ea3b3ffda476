"""SetupIntents: save a card for later, with the test cards' outcomes."""

from __future__ import annotations

import secrets

from ..encoding import diff, get_bool, get_list, get_str
from ..errors import card_declined, invalid
from ..events import emit, mutate
from ..routing import route
from ..state import new_id
from .base import list_objects, new_object, retrieve, update
from .payment_methods import attach, behaviour, mark_authenticated, resolve_payment_method


@route("POST", "/v1/setup_intents")
def create_setup_intent(ctx):
    p = ctx.params
    customer = get_str(p, "customer")
    if customer:
        ctx.state.get("customer", customer, param="customer")
    pm = get_str(p, "payment_method")
    if pm:
        pm = resolve_payment_method(ctx.state, pm)["id"]
    sid = new_id("seti")
    seti = new_object(
        ctx,
        "setup_intent",
        "seti",
        owner=customer,
        obj_id=sid,
        application=None,
        automatic_payment_methods=None,
        cancellation_reason=None,
        client_secret=f"{sid}_secret_{secrets.token_urlsafe(24)}",
        customer=customer,
        description=get_str(p, "description"),
        excluded_payment_method_types=None,
        flow_directions=None,
        last_setup_error=None,
        latest_attempt=None,
        mandate=None,
        next_action=None,
        on_behalf_of=None,
        payment_method=pm,
        payment_method_configuration_details=None,
        payment_method_options={
            "card": {
                "mandate_options": None,
                "network": None,
                "request_three_d_secure": "automatic",
            }
        },
        payment_method_types=get_list(p, "payment_method_types") or ["card"],
        single_use_mandate=None,
        status="requires_confirmation" if pm else "requires_payment_method",
        usage=get_str(p, "usage") or "off_session",
    )
    if isinstance(p.get("automatic_payment_methods"), dict):
        seti["automatic_payment_methods"] = {"allow_redirects": "always", "enabled": True}
    ctx.state.add(seti)
    emit(ctx.state, "setup_intent.created", seti)
    if get_bool(p, "confirm", False):
        _confirm(ctx, seti, None)
    return ctx.out(seti)


def _confirm(ctx, seti, pm_id):
    state = ctx.state
    if seti["status"] in ("succeeded", "canceled"):
        raise invalid(
            f"This SetupIntent's status is {seti['status']}, so it cannot be confirmed.",
            code="setup_intent_unexpected_state",
        )
    pm_id = pm_id or seti["payment_method"]
    if not pm_id:
        raise invalid(
            "You cannot confirm this SetupIntent because it's missing a payment method.",
            code="setup_intent_unexpected_state",
        )
    pm = resolve_payment_method(state, pm_id)
    from .debits import confirm_setup  # SEPA Direct Debit (mandate) and PayPal (approval redirect)

    if confirm_setup(state, seti, pm, ctx.params):
        return
    authenticated = seti["status"] == "requires_action" and seti["payment_method"] == pm["id"]
    before = state.render(seti)
    seti["payment_method"] = pm["id"]
    kind = behaviour(pm)
    if kind == "attach_decline":
        seti.update(
            status="requires_payment_method",
            last_setup_error={
                "type": "card_error",
                "code": "card_declined",
                "decline_code": "generic_decline",
                "message": "Your card was declined.",
                "payment_method": state.render(pm),
            },
        )
        emit(state, "setup_intent.setup_failed", seti, previous=diff(before, state.render(seti)))
        raise card_declined(extra={"setup_intent": state.render(seti)})
    if kind in ("auth_required", "auth_on_setup") and not authenticated:
        # Like the PaymentIntent emulation: confirming again stands in for passing 3-D Secure.
        seti.update(
            status="requires_action", next_action={"type": "use_stripe_sdk", "use_stripe_sdk": {}}
        )
        emit(state, "setup_intent.requires_action", seti, previous=diff(before, state.render(seti)))
        return
    if authenticated:
        mark_authenticated(state, pm)
    seti.update(status="succeeded", next_action=None, last_setup_error=None)
    if seti["customer"]:
        attach(state, pm, seti["customer"])
    state.dirty = True
    emit(state, "setup_intent.succeeded", seti, previous=diff(before, state.render(seti)))


@route("GET", "/v1/setup_intents")
def list_setup_intents(ctx):
    return list_objects(
        ctx,
        "setup_intent",
        "/v1/setup_intents",
        ("customer", "customer"),
        ("payment_method", "payment_method"),
    )


@route("GET", "/v1/setup_intents/{id}")
def get_setup_intent(ctx, id):
    return retrieve(ctx, "setup_intent", id)


@route("POST", "/v1/setup_intents/{id}")
def update_setup_intent(ctx, id):
    def apply(seti):
        if ctx.params.get("payment_method"):
            seti["payment_method"] = resolve_payment_method(
                ctx.state, ctx.params["payment_method"]
            )["id"]
            seti["status"] = "requires_confirmation"

    return update(ctx, "setup_intent", id, ("description",), apply)


@route("POST", "/v1/setup_intents/{id}/confirm")
def confirm_setup_intent(ctx, id):
    seti = ctx.state.get("setup_intent", id)
    _confirm(ctx, seti, get_str(ctx.params, "payment_method"))
    return ctx.out(seti)


@route("POST", "/v1/setup_intents/{id}/cancel")
def cancel_setup_intent(ctx, id):
    seti = ctx.state.get("setup_intent", id)
    if seti["status"] in ("succeeded", "canceled"):
        raise invalid(
            f"You cannot cancel this SetupIntent because it has a status of {seti['status']}.",
            code="setup_intent_unexpected_state",
        )
    mutate(
        ctx.state,
        seti,
        lambda s: s.update(
            status="canceled",
            cancellation_reason=get_str(ctx.params, "cancellation_reason")
            or "requested_by_customer",
        ),
        "setup_intent.canceled",
    )
    return ctx.out(seti)
