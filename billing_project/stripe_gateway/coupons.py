"""Stripe Coupons and the promotion codes customers type."""

from __future__ import annotations

from billing_project.stripe_gateway.client import get_client
from billing_project.stripe_gateway.errors import stripe_errors
from billing_project.stripe_gateway.keys import request_options


def coupon_create(*, params: dict, key: str):
    with stripe_errors():
        return get_client().v1.coupons.create(params=params, options=request_options(key))


def promotion_code_create(*, coupon_id: str, code: str, params: dict, key: str):
    with stripe_errors():
        return get_client().v1.promotion_codes.create(
            params={"promotion": {"type": "coupon", "coupon": coupon_id}, "code": code, **params},
            options=request_options(key),
        )


def promotion_code_deactivate(*, promotion_code_id: str, key: str):
    with stripe_errors():
        return get_client().v1.promotion_codes.update(
            promotion_code_id, params={"active": False}, options=request_options(key)
        )
