"""Stripe PaymentMethods (cards) and the SetupIntents that collect them."""

from __future__ import annotations

import stripe

from billing_project.stripe_gateway.client import get_client
from billing_project.stripe_gateway.errors import stripe_errors
from billing_project.stripe_gateway.keys import request_options


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
