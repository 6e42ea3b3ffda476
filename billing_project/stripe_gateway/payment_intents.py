"""Stripe PaymentIntents: read one (a payment waiting for the customer's 3-D Secure)."""

from __future__ import annotations

from typing import Any

import stripe

from billing_project.stripe_gateway.client import get_client
from billing_project.stripe_gateway.errors import stripe_errors


def payment_intent_retrieve(payment_intent_id: str) -> stripe.PaymentIntent:
    """The PaymentIntent as Stripe has it now (status, next_action, last_payment_error)."""
    with stripe_errors():
        return get_client().v1.payment_intents.retrieve(payment_intent_id)


def authentication_page_url(intent: Any) -> str | None:
    """Where a browser authenticates this PaymentIntent without Stripe.js: the address of its
    next_action (`redirect_to_url.url`, or the `use_stripe_sdk.stripe_js` page), else None."""
    action = intent.get("next_action") or {}
    if action.get("type") == "redirect_to_url":
        return (action.get("redirect_to_url") or {}).get("url")
    if action.get("type") == "use_stripe_sdk":
        return (action.get("use_stripe_sdk") or {}).get("stripe_js")
    return None
