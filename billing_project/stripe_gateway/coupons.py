"""Stripe Coupons and the promotion codes customers type."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import stripe

from billing_project.stripe_gateway.client import get_client
from billing_project.stripe_gateway.errors import stripe_errors
from billing_project.stripe_gateway.keys import request_options

if TYPE_CHECKING:
    from stripe.params import CouponCreateParams, PromotionCodeCreateParams


def coupon_create(*, params: dict[str, Any], key: str) -> stripe.Coupon:
    with stripe_errors():
        # The callers build `params` by Stripe's CouponCreateParams.
        return get_client().v1.coupons.create(
            params=cast("CouponCreateParams", params), options=request_options(key)
        )


def promotion_code_create(
    *, coupon_id: str, code: str, params: dict[str, Any], key: str
) -> stripe.PromotionCode:
    with stripe_errors():
        return get_client().v1.promotion_codes.create(
            params=cast(
                "PromotionCodeCreateParams",
                {"promotion": {"type": "coupon", "coupon": coupon_id}, "code": code, **params},
            ),
            options=request_options(key),
        )


def promotion_code_deactivate(*, promotion_code_id: str, key: str) -> stripe.PromotionCode:
    with stripe_errors():
        return get_client().v1.promotion_codes.update(
            promotion_code_id, params={"active": False}, options=request_options(key)
        )
