"""Writes of the coupons app: define coupons (mirrored to Stripe), redeem them race-proof.

Redemption counting is one conditional UPDATE (`times_redeemed < max_redemptions`), so any number of
concurrent redemptions of a coupon with max N succeed exactly N times; a unique (coupon, tenant)
row makes a tenant's second redemption fail the same way whatever the timing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from billing_project.errors import DomainError
from billing_project.stripe_gateway import coupons as stripe_coupons
from billing_project.stripe_gateway import subscriptions as stripe_subscriptions
from billing_project.stripe_gateway.client import stripe_configured
from coupons.models import Coupon, CouponRedemption
from tenants.services import audit_record


class CouponError(DomainError):
    status_code = 400


def _error(code: str, message: str, status: int = 400) -> CouponError:
    return CouponError(message, code=code, status_code=status)


def coupon_create(
    *,
    code: str,
    name: str,
    percent_off: int | None = None,
    amount_off: int | None = None,
    currency: str = "",
    duration: str = "once",
    duration_in_months: int | None = None,
    max_redemptions: int | None = None,
    valid_from=None,
    redeem_by=None,
    plans=(),
    first_subscription_only: bool = False,
    auto_apply: bool = False,
    actor: str = "system",
) -> Coupon:
    """Create a coupon here and its Stripe Coupon + Promotion Code (the code customers type).

    Without Stripe configured (a seed run before Stripe is up) the coupon is created here only and
    mirrored later: on its first redemption, by `coupon_ensure` or the admin's "mirror to Stripe"."""
    coupon = Coupon(
        code=code.strip().upper(),
        name=name,
        percent_off=percent_off,
        amount_off=amount_off,
        currency=(currency or "").lower(),
        duration=duration,
        duration_in_months=duration_in_months,
        max_redemptions=max_redemptions,
        valid_from=valid_from,
        redeem_by=redeem_by,
        first_subscription_only=first_subscription_only,
        auto_apply=auto_apply,
    )
    coupon.full_clean(exclude=["plans"])
    with transaction.atomic():
        coupon.save()
        coupon.plans.set(plans)
        audit_record(
            actor=actor,
            action="coupon.create",
            target=coupon.code,
            after={
                "percent_off": percent_off,
                "amount_off": amount_off,
                "currency": coupon.currency,
                "duration": duration,
                "max_redemptions": max_redemptions,
            },
        )
        if stripe_configured():
            coupon_sync_to_stripe(coupon=coupon, actor=actor)
    return coupon


def coupon_ensure(*, code: str, actor: str = "system", **definition) -> tuple[Coupon, bool]:
    """The coupon `code`, created with `definition` when it does not exist yet (idempotent: an
    existing coupon is left as it is, only mirrored to Stripe if that is still missing and Stripe is
    configured). Returns (coupon, created)."""
    existing = Coupon.objects.filter(code=code.strip().upper()).first()
    if existing is None:
        try:
            return coupon_create(code=code, actor=actor, **definition), True
        except IntegrityError:  # created concurrently: the unique code makes the other one win
            existing = Coupon.objects.get(code=code.strip().upper())
    if stripe_configured():
        _mirrored(existing, actor=actor)
    return existing, False


def _mirrored(coupon: Coupon, *, actor: str = "system") -> Coupon:
    """The coupon with its Stripe objects, creating them if it was defined while Stripe was not configured."""
    if not (coupon.stripe_coupon_id and coupon.stripe_promotion_code_id):
        coupon_sync_to_stripe(coupon=coupon, actor=actor)
    return coupon


def coupon_sync_to_stripe(*, coupon: Coupon, actor: str = "system") -> Coupon:
    """Create the coupon's Stripe Coupon and Promotion Code where missing (idempotent; audit-logged).

    Stripe enforces the discount; we enforce the rules (so Stripe's own max is not set: our
    counter is the one that must stay exact)."""
    before = {
        "stripe_coupon_id": coupon.stripe_coupon_id or None,
        "stripe_promotion_code_id": coupon.stripe_promotion_code_id or None,
    }
    if not coupon.stripe_coupon_id:
        params: dict[str, Any] = {
            "name": coupon.name[:40],
            "duration": coupon.duration,
            "metadata": {"code": coupon.code},
        }
        if coupon.percent_off is not None:
            params["percent_off"] = coupon.percent_off
        else:
            params["amount_off"], params["currency"] = coupon.amount_off, coupon.currency
        if coupon.duration == Coupon.Duration.REPEATING:
            params["duration_in_months"] = coupon.duration_in_months or 1
        coupon.stripe_coupon_id = stripe_coupons.coupon_create(
            params=params, key=f"coupon-create:{coupon.pk}"
        ).id
    if not coupon.stripe_promotion_code_id:
        promo = stripe_coupons.promotion_code_create(
            coupon_id=coupon.stripe_coupon_id,
            code=coupon.code,
            params={},
            key=f"promo-create:{coupon.pk}",
        )
        coupon.stripe_promotion_code_id = promo.id
    after = {
        "stripe_coupon_id": coupon.stripe_coupon_id,
        "stripe_promotion_code_id": coupon.stripe_promotion_code_id,
    }
    if after != before:
        Coupon.objects.filter(pk=coupon.pk).update(**after)
        audit_record(
            actor=actor,
            action="coupon.sync_to_stripe",
            target=coupon.code,
            before=before,
            after=after,
        )
    return coupon


def coupon_disable(*, coupon: Coupon, actor: str = "system") -> Coupon:
    """No more redemptions: inactive here, its Stripe promotion code deactivated (audit-logged)."""
    with transaction.atomic():
        Coupon.objects.filter(pk=coupon.pk).update(is_active=False)
        if coupon.stripe_promotion_code_id:
            stripe_coupons.promotion_code_deactivate(
                promotion_code_id=coupon.stripe_promotion_code_id,
                key=f"promo-deactivate:{coupon.pk}",
            )
        audit_record(
            actor=actor,
            action="coupon.disable",
            target=coupon.code,
            before={"is_active": True},
            after={"is_active": False},
        )
    coupon.is_active = False
    return coupon


def _check(coupon: Coupon, *, tenant, plan, now) -> None:
    if not coupon.is_active:
        raise _error("coupon_expired", "This coupon is no longer active.")
    if (coupon.valid_from and now < coupon.valid_from) or (
        coupon.redeem_by and now >= coupon.redeem_by
    ):
        raise _error("coupon_expired", "This coupon is not valid now.")
    if coupon.max_redemptions is not None and coupon.times_redeemed >= coupon.max_redemptions:
        raise _error(
            "coupon_exhausted", "This coupon has been redeemed the maximum number of times.", 409
        )
    if plan is not None and coupon.plans.exists() and not coupon.plans.filter(pk=plan.pk).exists():
        raise _error("coupon_not_applicable", "This coupon does not apply to this plan.", 400)
    if coupon.amount_off is not None and plan is not None and coupon.currency != plan.currency:
        raise _error("coupon_not_applicable", "This coupon is in another currency than the plan.")
    if coupon.first_subscription_only and _had_subscription(tenant):
        raise _error("coupon_not_applicable", "This coupon is for a first subscription only.")
    if CouponRedemption.objects.filter(coupon=coupon, tenant=tenant).exists():
        raise _error(
            "coupon_already_redeemed", "This tenant has already redeemed this coupon.", 409
        )


def _had_subscription(tenant) -> bool:
    from subscriptions.models import BillingAccount

    return BillingAccount.objects.filter(tenant=tenant).exclude(subscription_id="").exists()


def _count(
    coupon: Coupon, *, tenant, status: str, actor: str, subscription_id: str = ""
) -> CouponRedemption:
    """The race-proof part: a conditional increment, then the (coupon, tenant) unique row."""
    with transaction.atomic():
        counted = (
            Coupon.objects.filter(pk=coupon.pk)
            .filter(Q(max_redemptions__isnull=True) | Q(times_redeemed__lt=F("max_redemptions")))
            .update(times_redeemed=F("times_redeemed") + 1)
        )
        if not counted:
            raise _error(
                "coupon_exhausted",
                "This coupon has been redeemed the maximum number of times.",
                409,
            )
        try:
            with transaction.atomic():
                redemption = CouponRedemption.objects.create(
                    coupon=coupon,
                    tenant=tenant,
                    status=status,
                    actor=actor,
                    subscription_id=subscription_id,
                )
        except IntegrityError:
            raise _error(
                "coupon_already_redeemed", "This tenant has already redeemed this coupon.", 409
            ) from None
        _announce_redeemed(tenant, coupon, redemption)
        return redemption


def _announce_redeemed(tenant, coupon: Coupon, redemption: CouponRedemption) -> None:
    """coupon.redeemed for the tenant's systems (the object as POST /coupons/apply returns it),
    in the redemption's transaction, once per redemption."""
    from coupons.api.serializers import CouponApplyOutput
    from webhooks.services import emit_event

    obj = CouponApplyOutput(
        {
            "code": coupon.code,
            "percent_off": coupon.percent_off,
            "amount_off": coupon.amount_off,
            "currency": coupon.currency or None,
            "duration": coupon.duration,
            "duration_in_months": coupon.duration_in_months,
            "applies_to": "current_subscription"
            if redemption.subscription_id
            else "next_subscription",
        }
    ).data
    emit_event(
        tenant=tenant,
        type="coupon.redeemed",
        obj=dict(obj),
        dedup_key=f"coupon.redeemed:{redemption.pk}",
    )


def coupon_redeem(
    *,
    tenant,
    code: str,
    plan=None,
    status: str = CouponRedemption.Status.APPLIED,
    actor: str = "system",
    subscription_id: str = "",
) -> CouponRedemption:
    """Check the rules and count one redemption of `code` by `tenant` (raises a coupon_* error)."""
    coupon = Coupon.objects.filter(code=(code or "").strip().upper()).first()
    if coupon is None:
        raise _error("coupon_not_found", "No such coupon.", 404)
    _check(coupon, tenant=tenant, plan=plan, now=timezone.now())
    return _count(
        coupon, tenant=tenant, status=status, actor=actor, subscription_id=subscription_id
    )


def coupon_check(*, tenant, code: str, plan=None) -> Coupon:
    """The coupon `code` if the tenant could redeem it on `plan` now, counting nothing (the portal
    checks a code before the subscription is confirmed); raises the same coupon_* errors as the
    redemption does."""
    coupon = Coupon.objects.filter(code=(code or "").strip().upper()).first()
    if coupon is None:
        raise _error("coupon_not_found", "No such coupon.", 404)
    _check(coupon, tenant=tenant, plan=plan, now=timezone.now())
    return coupon


@dataclass(frozen=True)
class NewSubscriptionDiscount:
    redemption: CouponRedemption

    @property
    def code(self) -> str:
        return self.redemption.coupon.code

    @property
    def stripe_discount(self) -> dict:
        return {"coupon": self.redemption.coupon.stripe_coupon_id}


def coupon_redeem_for_new_subscription(
    *, tenant, plan, code: str | None, actor: str = "system"
) -> NewSubscriptionDiscount | None:
    """The discount of a new subscription: the code given, else the one held for the tenant, else
    an auto-apply campaign coupon of the plan. Runs inside the caller's transaction."""
    redemption: CouponRedemption | None
    if code:
        redemption = coupon_redeem(tenant=tenant, code=code, plan=plan, actor=actor)
    else:
        redemption = _held_or_auto_applied(tenant=tenant, plan=plan)
    if redemption is None:
        return None
    _mirrored(redemption.coupon, actor=actor)
    return NewSubscriptionDiscount(redemption)


def _held_or_auto_applied(*, tenant, plan) -> CouponRedemption | None:
    held = (
        CouponRedemption.objects.select_related("coupon")
        .filter(tenant=tenant, status=CouponRedemption.Status.HELD)
        .first()
    )
    if held is not None:
        if held.coupon.plans.exists() and not held.coupon.plans.filter(pk=plan.pk).exists():
            return None  # held for a plan it applies to
        return held
    return _auto_applied(tenant=tenant, plan=plan)


def _auto_apply_candidates(plan):
    """Active auto-apply coupons of the plan: those naming it and those naming no plan (which apply
    to every plan, as their help text says), newest first."""
    return (
        Coupon.objects.filter(is_active=True, auto_apply=True)
        .filter(Q(plans=plan) | Q(plans__isnull=True))
        .distinct()
        .order_by("-created")
    )


def _auto_applied(*, tenant, plan, subscription_id: str = "") -> CouponRedemption | None:
    """Count the newest auto-apply coupon whose rules the tenant meets on `plan`, or None."""
    now = timezone.now()
    for coupon in _auto_apply_candidates(plan):
        try:
            _check(coupon, tenant=tenant, plan=plan, now=now)
            return _count(
                coupon,
                tenant=tenant,
                status=CouponRedemption.Status.APPLIED,
                actor="auto_apply",
                subscription_id=subscription_id,
            )
        except CouponError:
            continue
    return None


def coupon_auto_apply_on_plan_change(
    *, tenant, plan, subscription_id: str, actor: str = "system"
) -> CouponRedemption | None:
    """After a plan change into `plan`: apply the newest auto-apply coupon of that plan whose rules
    the tenant meets (first subscription only, validity, redemption limits, once per tenant), unless
    the subscription already carries a coupon of ours. Returns the redemption, or None."""
    if CouponRedemption.objects.filter(
        tenant=tenant, subscription_id=subscription_id, status=CouponRedemption.Status.APPLIED
    ).exists():
        return None
    with transaction.atomic():
        redemption = _auto_applied(tenant=tenant, plan=plan, subscription_id=subscription_id)
        if redemption is None:
            return None
        _mirrored(redemption.coupon, actor=actor)
        stripe_subscriptions.subscription_update(
            subscription_id=subscription_id,
            params={"discounts": [{"coupon": redemption.coupon.stripe_coupon_id}]},
            key=f"coupon-auto-apply:{redemption.pk}",
        )
        audit_record(
            actor=actor,
            action="coupon.auto_apply",
            tenant=tenant,
            target=redemption.coupon.code,
            after={"plan_id": plan.code, "subscription_id": subscription_id},
        )
    return redemption


def redemption_attach(*, redemption: CouponRedemption, subscription_id: str) -> None:
    CouponRedemption.objects.filter(pk=redemption.pk).update(
        status=CouponRedemption.Status.APPLIED, subscription_id=subscription_id
    )


def coupon_apply(*, tenant, code: str, actor: str = "system") -> tuple[CouponRedemption, str]:
    """Apply a code to the current subscription, or hold it for the next one. Returns the
    redemption and "current_subscription" | "next_subscription"."""
    from subscriptions.selectors import subscription_get_current

    account = subscription_get_current(tenant=tenant)
    with transaction.atomic():
        if account is None:
            redemption = coupon_redeem(
                tenant=tenant, code=code, status=CouponRedemption.Status.HELD, actor=actor
            )
            applies_to = "next_subscription"
        else:
            redemption = coupon_redeem(
                tenant=tenant,
                code=code,
                plan=account.plan,
                actor=actor,
                subscription_id=account.subscription_id,
            )
            _mirrored(redemption.coupon, actor=actor)
            stripe_subscriptions.subscription_update(
                subscription_id=account.subscription_id,
                params={"discounts": [{"coupon": redemption.coupon.stripe_coupon_id}]},
                key=f"coupon-apply:{redemption.pk}",
            )
            applies_to = "current_subscription"
        audit_record(
            actor=actor,
            action="coupon.apply",
            tenant=tenant,
            target=redemption.coupon.code,
            after={
                "applies_to": applies_to,
                "subscription_id": account.subscription_id if account else None,
            },
        )
    return redemption, applies_to
