"""Reads of the coupons app: <entity>_list / <entity>_get(*, tenant, ...)."""

from coupons.models import Coupon, CouponRedemption


def coupon_for_subscription(*, tenant, subscription_id: str) -> Coupon | None:
    """The coupon applied to one of the tenant's subscriptions (the newest, if several), or None."""
    if not subscription_id:
        return None
    redemption = (
        CouponRedemption.objects.select_related("coupon")
        .filter(
            tenant=tenant,
            subscription_id=subscription_id,
            status=CouponRedemption.Status.APPLIED,
        )
        .order_by("-created")
        .first()
    )
    return redemption.coupon if redemption is not None else None
