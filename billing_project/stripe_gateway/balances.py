"""Stripe customer credit balance (prepaid credits) and the PaymentIntents that buy it.

A negative customer `balance` is credit: Stripe applies it to every invoice when the invoice is
finalized, before the payment method is charged (`starting_balance` / `ending_balance` on the
invoice). Credit is added and removed with customer balance transactions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import stripe

from billing_project.stripe_gateway.client import get_client
from billing_project.stripe_gateway.errors import AuthenticationRequired, stripe_errors
from billing_project.stripe_gateway.keys import request_options

if TYPE_CHECKING:
    from stripe.params import PaymentIntentCreateParams


def balance_transaction_create(
    *,
    customer_id: str,
    amount: int,
    currency: str,
    description: str,
    metadata: dict[str, str],
    key: str,
) -> stripe.CustomerBalanceTransaction:
    """Move the customer's credit balance: a negative amount adds credit, a positive one removes it."""
    with stripe_errors():
        return get_client().v1.customers.balance_transactions.create(
            customer_id,
            params={
                "amount": amount,
                "currency": currency,
                "description": description,
                "metadata": metadata,
            },
            options=request_options(key),
        )


def default_payment_method_of(customer_id: str) -> str | None:
    with stripe_errors():
        customer = get_client().v1.customers.retrieve(customer_id)
    settings = customer.get("invoice_settings") or {}  # type: ignore[attr-defined]  # dj-stripe's compat gives StripeObject dict's methods (stripe 15); stripe's types do not
    return settings.get("default_payment_method") or None


def payment_intent_pay_now(
    *,
    customer_id: str,
    amount: int,
    currency: str,
    payment_method_id: str,
    description: str,
    metadata: dict[str, str],
    off_session: bool,
    key: str,
) -> stripe.PaymentIntent:
    """Create and confirm a PaymentIntent on the saved card. A decline raises 402 card_declined; a
    payment the bank wants the customer to confirm (3-D Secure, status `requires_action`) raises 402
    authentication_required carrying the intent's id and client secret."""
    params: dict[str, Any] = {
        "customer": customer_id,
        "amount": amount,
        "currency": currency,
        "payment_method": payment_method_id,
        "payment_method_types": ["card"],
        "description": description,
        "metadata": metadata,
        "confirm": True,
    }
    if off_session:
        params["off_session"] = True
    with stripe_errors():
        intent = get_client().v1.payment_intents.create(
            params=cast("PaymentIntentCreateParams", params), options=request_options(key)
        )
    if intent.status == "requires_action":
        raise AuthenticationRequired.for_payment(
            payment_intent_id=intent.id,
            client_secret=intent.client_secret,
            invoice_id=None,
            hosted_invoice_url=None,
        )
    return intent
