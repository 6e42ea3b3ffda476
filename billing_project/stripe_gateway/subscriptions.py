"""Stripe Subscriptions (always returned with the latest invoice's confirmation secret expanded,
which a client needs to confirm a first payment)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import stripe

from billing_project.stripe_gateway.client import get_client
from billing_project.stripe_gateway.errors import stripe_errors
from billing_project.stripe_gateway.keys import request_options

if TYPE_CHECKING:
    from stripe.params import SubscriptionCreateParams, SubscriptionUpdateParams

SUBSCRIPTION_EXPAND = ["latest_invoice.confirmation_secret"]


def subscription_create(*, params: dict[str, Any], key: str) -> stripe.Subscription:
    with stripe_errors():
        return get_client().v1.subscriptions.create(
            # The callers build `params` by Stripe's SubscriptionCreateParams.
            params=cast("SubscriptionCreateParams", {**params, "expand": SUBSCRIPTION_EXPAND}),
            options=request_options(key),
        )


def subscription_retrieve(subscription_id: str) -> stripe.Subscription:
    with stripe_errors():
        return get_client().v1.subscriptions.retrieve(
            subscription_id, params={"expand": SUBSCRIPTION_EXPAND}
        )


def subscription_update(
    *, subscription_id: str, params: dict[str, Any], key: str
) -> stripe.Subscription:
    with stripe_errors():
        return get_client().v1.subscriptions.update(
            subscription_id,
            params=cast("SubscriptionUpdateParams", {**params, "expand": SUBSCRIPTION_EXPAND}),
            options=request_options(key),
        )


def subscription_cancel(*, subscription_id: str, key: str) -> stripe.Subscription:
    with stripe_errors():
        return get_client().v1.subscriptions.cancel(subscription_id, options=request_options(key))


def subscription_list(*, customer_id: str) -> list[stripe.Subscription]:
    with stripe_errors():
        return list(
            get_client()
            .v1.subscriptions.list(params={"customer": customer_id, "status": "all", "limit": 100})
            .auto_paging_iter()
        )
