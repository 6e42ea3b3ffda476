"""Stripe Products and Prices: the plan catalog's copy in Stripe (prices found by lookup key)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import stripe

from billing_project.stripe_gateway.client import get_client
from billing_project.stripe_gateway.errors import stripe_errors
from billing_project.stripe_gateway.keys import request_options

if TYPE_CHECKING:
    from stripe.params import PriceCreateParamsTier, PriceListParams, ProductCreateParams


def product_create(*, code: str, name: str, description: str, key: str) -> stripe.Product:
    params: ProductCreateParams = {"name": name, "metadata": {"plan_id": code}}
    if description:
        params["description"] = description
    with stripe_errors():
        return get_client().v1.products.create(params=params, options=request_options(key))


def product_update(
    *, product_id: str, name: str, description: str, key: str | None
) -> stripe.Product:
    with stripe_errors():
        return get_client().v1.products.update(
            product_id,
            params={"name": name, "description": description or "", "active": True},
            options=request_options(key),
        )


def price_get_by_lookup_key(lookup_key: str, *, with_tiers: bool = False) -> stripe.Price | None:
    params: PriceListParams = {"lookup_keys": [lookup_key], "limit": 1}
    if with_tiers:
        params["expand"] = ["data.tiers"]  # Stripe sends a price's tiers only when asked
    with stripe_errors():
        found = get_client().v1.prices.list(params=params)
    return found.data[0] if found.data else None


def price_create(
    *, product_id: str, amount: int, currency: str, interval: str, lookup_key: str, key: str
) -> stripe.Price:
    with stripe_errors():
        return get_client().v1.prices.create(
            params={
                "product": product_id,
                "unit_amount": amount,
                "currency": currency,
                "recurring": {"interval": interval},
                "lookup_key": lookup_key,
                # Prices are immutable: the new price takes the lookup key over from the old one.
                "transfer_lookup_key": True,
            },
            options=request_options(key),
        )


def metered_tiered_price_create(
    *,
    product_id: str,
    currency: str,
    interval: str,
    meter_id: str,
    tiers: list[dict[str, Any]],
    nickname: str,
    lookup_key: str,
    key: str,
) -> stripe.Price:
    """A metered Price on a billing meter, billed in arrears by graduated tiers."""
    with stripe_errors():
        return get_client().v1.prices.create(
            params={
                "product": product_id,
                "currency": currency,
                "nickname": nickname[:250],
                "recurring": {"interval": interval, "usage_type": "metered", "meter": meter_id},
                "billing_scheme": "tiered",
                "tiers_mode": "graduated",
                # The callers build the tiers by Stripe's PriceCreateParamsTier.
                "tiers": cast("list[PriceCreateParamsTier]", tiers),
                "lookup_key": lookup_key,
                "transfer_lookup_key": True,
            },
            options=request_options(key),
        )


def price_archive(*, price_id: str, key: str) -> stripe.Price:
    with stripe_errors():
        return get_client().v1.prices.update(
            price_id, params={"active": False}, options=request_options(key)
        )


def price_retrieve(price_id: str) -> stripe.Price:
    with stripe_errors():
        return get_client().v1.prices.retrieve(price_id)
