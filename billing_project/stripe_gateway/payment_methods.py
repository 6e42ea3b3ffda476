"""Stripe PaymentMethods (cards, SEPA Direct Debit, PayPal) and the SetupIntents that collect them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import stripe

from billing_project.stripe_gateway.client import get_client
from billing_project.stripe_gateway.errors import stripe_errors
from billing_project.stripe_gateway.keys import request_options

if TYPE_CHECKING:
    from stripe.params import PaymentMethodCreateParams, SetupIntentCreateParams


def payment_method_attach(*, token: str, customer_id: str, key: str) -> stripe.PaymentMethod:
    with stripe_errors():
        return get_client().v1.payment_methods.attach(
            token, params={"customer": customer_id}, options=request_options(key)
        )


def payment_method_retrieve(payment_method_id: str) -> stripe.PaymentMethod:
    with stripe_errors():
        return get_client().v1.payment_methods.retrieve(payment_method_id)


def payment_method_list(*, customer_id: str) -> list[stripe.PaymentMethod]:
    with stripe_errors():
        return list(
            get_client()
            .v1.customers.payment_methods.list(customer_id, params={"limit": 100})
            .auto_paging_iter()
        )


def payment_method_detach(*, payment_method_id: str, key: str) -> stripe.PaymentMethod:
    with stripe_errors():
        return get_client().v1.payment_methods.detach(
            payment_method_id, options=request_options(key)
        )


def setup_intent_create(*, customer_id: str, key: str) -> stripe.SetupIntent:
    with stripe_errors():
        return get_client().v1.setup_intents.create(
            params={
                "customer": customer_id,
                "usage": "off_session",
                "payment_method_types": ["card"],
            },
            options=request_options(key),
        )


def payment_method_create(
    *,
    kind: str,
    key: str,
    iban: str = "",
    billing_details: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
) -> stripe.PaymentMethod:
    """A new, unattached PaymentMethod: ``sepa_debit`` from an IBAN, or ``paypal`` (approved later)."""
    params: dict[str, Any] = {"type": kind}
    if kind == "sepa_debit":
        params["sepa_debit"] = {"iban": iban}
    if billing_details:
        params["billing_details"] = billing_details
    if metadata:
        params["metadata"] = metadata
    with stripe_errors():
        return get_client().v1.payment_methods.create(
            params=cast("PaymentMethodCreateParams", params), options=request_options(key)
        )


def setup_intent_confirm_new(
    *,
    customer_id: str,
    payment_method_id: str,
    kind: str,
    key: str,
    mandate_data: dict[str, Any] | None = None,
    return_url: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> stripe.SetupIntent:
    """Save a SEPA or PayPal method for off-session payments: a SetupIntent confirmed at once, with
    the customer's mandate acceptance (SEPA; succeeds) or a return_url (PayPal; requires_action with
    the approval page in next_action.redirect_to_url)."""
    params: dict[str, Any] = {
        "customer": customer_id,
        "payment_method": payment_method_id,
        "payment_method_types": [kind],
        "usage": "off_session",
        "confirm": True,
    }
    if mandate_data:
        params["mandate_data"] = mandate_data
    if return_url:
        params["return_url"] = return_url
    if metadata:
        params["metadata"] = metadata
    with stripe_errors():
        return get_client().v1.setup_intents.create(
            params=cast("SetupIntentCreateParams", params), options=request_options(key)
        )


def setup_intent_retrieve(setup_intent_id: str) -> stripe.SetupIntent:
    with stripe_errors():
        return get_client().v1.setup_intents.retrieve(setup_intent_id)
