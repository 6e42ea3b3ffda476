"""Coupons, promotion codes (dahlia: ``promotion: {type: "coupon", coupon}``) and discounts."""

from __future__ import annotations

import secrets

from ..encoding import get_bool, get_int, get_str
from ..errors import invalid, missing_param
from ..events import emit
from ..routing import route
from ..state import new_id
from .base import create, delete, list_objects, new_object, retrieve, update


def coupon_valid(state, coupon, now=None):
    """Whether a coupon can still be redeemed (max_redemptions, redeem_by, not deleted)."""
    now = state.now() if now is None else now
    if coupon.get("_deleted"):
        return False
    if (
        coupon["max_redemptions"] is not None
        and coupon["times_redeemed"] >= coupon["max_redemptions"]
    ):
        return False
    return coupon["redeem_by"] is None or coupon["redeem_by"] > now


def _render_coupon(state, coupon, out):
    out["valid"] = coupon_valid(state, coupon)
    return out


@route("POST", "/v1/coupons")
def create_coupon(ctx):
    p = ctx.params
    percent = p.get("percent_off")
    amount = get_int(p, "amount_off")
    if (percent in (None, "")) == (amount is None):
        raise invalid(
            "You must pass exactly one of percent_off or amount_off.", param="percent_off"
        )
    currency = get_str(p, "currency")
    if amount is not None and not currency:
        raise missing_param("currency")
    duration = get_str(p, "duration") or "once"
    if duration not in ("once", "repeating", "forever"):
        raise invalid(
            "Invalid duration: must be one of forever, once, or repeating", param="duration"
        )
    months = get_int(p, "duration_in_months")
    if duration == "repeating" and not months:
        raise missing_param("duration_in_months")
    if percent not in (None, ""):
        percent = float(percent)
        if not 0 < percent <= 100:
            raise invalid("Invalid percent_off: must be between 0 and 100", param="percent_off")
    else:
        percent = None
    coupon_id = get_str(p, "id") or secrets.token_urlsafe(6).replace("-", "x").replace("_", "y")
    if ctx.state.find(coupon_id, "coupon"):
        raise invalid("Coupon already exists.", param="id", code="resource_already_exists")
    coupon = new_object(
        ctx,
        "coupon",
        "",
        obj_id=coupon_id,
        amount_off=amount,
        currency=currency.lower() if currency else None,
        duration=duration,
        duration_in_months=months if duration == "repeating" else None,
        max_redemptions=get_int(p, "max_redemptions"),
        name=get_str(p, "name"),
        percent_off=percent,
        redeem_by=get_int(p, "redeem_by"),
        times_redeemed=0,
        valid=True,
    )
    return create(ctx, coupon)


@route("GET", "/v1/coupons")
def list_coupons(ctx):
    return list_objects(ctx, "coupon", "/v1/coupons")


@route("GET", "/v1/coupons/{id}")
def get_coupon(ctx, id):
    return retrieve(ctx, "coupon", id)


@route("POST", "/v1/coupons/{id}")
def update_coupon(ctx, id):
    return update(ctx, "coupon", id, ("name",))


@route("DELETE", "/v1/coupons/{id}")
def delete_coupon(ctx, id):
    return delete(ctx, "coupon", id)


@route("POST", "/v1/promotion_codes")
def create_promotion_code(ctx):
    p = ctx.params
    promotion = p.get("promotion") if isinstance(p.get("promotion"), dict) else {}
    coupon_id = promotion.get("coupon") or p.get("coupon")  # "coupon" is the pre-dahlia spelling
    if not coupon_id:
        raise missing_param("promotion[coupon]")
    ctx.state.get("coupon", coupon_id, param="promotion[coupon]")
    code = get_str(p, "code") or secrets.token_hex(4).upper()
    if any(
        pc["code"].lower() == code.lower() and pc["active"]
        for pc in ctx.state.all("promotion_code")
    ):
        raise invalid(f"An active promotion code with `code: {code}` already exists.", param="code")
    customer = get_str(p, "customer")
    if customer:
        ctx.state.get("customer", customer, param="customer")
    restrictions = p.get("restrictions") if isinstance(p.get("restrictions"), dict) else {}
    promo = new_object(
        ctx,
        "promotion_code",
        "promo",
        active=get_bool(p, "active", True),
        code=code,
        customer=customer,
        customer_account=None,
        expires_at=get_int(p, "expires_at"),
        max_redemptions=get_int(p, "max_redemptions"),
        promotion={"coupon": coupon_id, "type": "coupon"},
        restrictions={
            "currency_options": {},
            "first_time_transaction": get_bool(restrictions, "first_time_transaction", False),
            "minimum_amount": get_int(restrictions, "minimum_amount"),
            "minimum_amount_currency": get_str(restrictions, "minimum_amount_currency"),
        },
        times_redeemed=0,
    )
    return create(ctx, promo)


@route("GET", "/v1/promotion_codes")
def list_promotion_codes(ctx):
    coupon = get_str(ctx.params, "coupon")
    return list_objects(
        ctx,
        "promotion_code",
        "/v1/promotion_codes",
        ("code", "code"),
        ("active", "active"),
        ("customer", "customer"),
        lambda pc: not coupon or pc["promotion"]["coupon"] == coupon,
    )


@route("GET", "/v1/promotion_codes/{id}")
def get_promotion_code(ctx, id):
    return retrieve(ctx, "promotion_code", id)


@route("POST", "/v1/promotion_codes/{id}")
def update_promotion_code(ctx, id):
    def apply(promo):
        if "active" in ctx.params:
            promo["active"] = get_bool(ctx.params, "active")

    return update(ctx, "promotion_code", id, apply=apply)


def redeem(state, spec, customer, subscription=None, invoice=None, param="discounts"):
    """Turn ``{"coupon": id}`` or ``{"promotion_code": id}`` into a stored discount object,
    counting the redemption; errors like Stripe when the coupon or code cannot be used."""
    now = state.now(customer)
    promo = None
    if spec.get("promotion_code"):
        promo = state.get(
            "promotion_code", spec["promotion_code"], param=f"{param}[promotion_code]"
        )
        expired = promo["expires_at"] is not None and promo["expires_at"] <= now
        exhausted = (
            promo["max_redemptions"] is not None
            and promo["times_redeemed"] >= promo["max_redemptions"]
        )
        if not promo["active"] or expired or exhausted:
            raise invalid(
                f"This promotion code cannot be redeemed: '{promo['code']}' is inactive, expired "
                "or fully redeemed.",
                param=f"{param}[promotion_code]",
            )
        if promo["customer"] and promo["customer"] != customer:
            raise invalid(
                "This promotion code cannot be redeemed by this customer.",
                param=f"{param}[promotion_code]",
            )
        coupon = state.get("coupon", promo["promotion"]["coupon"])
    elif spec.get("coupon"):
        coupon = state.get("coupon", spec["coupon"], param=f"{param}[coupon]")
    else:
        raise missing_param(f"{param}[coupon]")
    if not coupon_valid(state, coupon, now):
        raise invalid(f"Coupon expired: {coupon['id']}", param=f"{param}[coupon]")
    coupon["times_redeemed"] += 1
    if promo:
        promo["times_redeemed"] += 1
    end = None
    if coupon["duration"] == "repeating":
        from ..billing import add_interval  # billing owns calendar arithmetic

        end = add_interval(now, "month", coupon["duration_in_months"])
    discount = {
        "id": new_id("di"),
        "object": "discount",
        "checkout_session": None,
        "customer": customer,
        "customer_account": None,
        "end": end,
        "invoice": invoice,
        "invoice_item": None,
        "promotion_code": promo["id"] if promo else None,
        "source": {"coupon": coupon["id"], "type": "coupon"},
        "start": now,
        "subscription": subscription,
        "subscription_item": None,
    }
    state.add(discount)
    if customer and subscription is None and invoice is None:
        emit(state, "customer.discount.created", discount)
    return discount


@route("GET", "/v1/discounts/{id}")
def get_discount(ctx, id):
    return retrieve(ctx, "discount", id)


RENDERERS_BY_TYPE = {"coupon": _render_coupon}
