"""Coupon definitions and redemptions. Public schema.

A coupon is mirrored to a Stripe Coupon (the discount) and a Promotion Code (the code customers type);
the rules Stripe does not know (plans, first subscription only, auto-apply) are checked here.
"""

from django.db import models
from django.db.models import Q


class Coupon(models.Model):
    class Duration(models.TextChoices):
        ONCE = "once", "Once"
        REPEATING = "repeating", "Repeating"
        FOREVER = "forever", "Forever"

    code = models.CharField(
        max_length=50, unique=True, help_text="What customers type; stored upper-case."
    )
    name = models.CharField(max_length=100)
    percent_off = models.PositiveSmallIntegerField(null=True, blank=True, help_text="1-100")
    amount_off = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="Minor units of `currency`."
    )
    currency = models.CharField(max_length=3, blank=True)
    duration = models.CharField(max_length=10, choices=Duration.choices, default=Duration.ONCE)
    duration_in_months = models.PositiveSmallIntegerField(null=True, blank=True)
    max_redemptions = models.PositiveIntegerField(
        null=True, blank=True, help_text="Empty = unlimited."
    )
    times_redeemed = models.PositiveIntegerField(default=0)
    valid_from = models.DateTimeField(null=True, blank=True)
    redeem_by = models.DateTimeField(null=True, blank=True)
    plans = models.ManyToManyField(
        "subscriptions.Plan",
        blank=True,
        related_name="+",
        help_text="Plans it applies to; none = every plan.",
    )
    first_subscription_only = models.BooleanField(default=False)
    auto_apply = models.BooleanField(
        default=False,
        help_text="Applied to every new subscription of its plans (every plan when no plan is "
        "chosen above), and on a change into one of them, between valid_from and redeem_by.",
    )
    is_active = models.BooleanField(default=True)
    stripe_coupon_id = models.CharField(max_length=255, blank=True)
    stripe_promotion_code_id = models.CharField(max_length=255, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(percent_off__isnull=False, amount_off__isnull=True)
                    | Q(
                        percent_off__isnull=True,
                        amount_off__isnull=False,
                        currency__regex=r"^[a-z]{3}$",
                    )
                ),
                name="coupon_percent_xor_amount",
            ),
            models.CheckConstraint(
                condition=Q(percent_off__isnull=True) | Q(percent_off__gte=1, percent_off__lte=100),
                name="coupon_percent_range",
            ),
            models.CheckConstraint(
                condition=Q(max_redemptions__isnull=True)
                | Q(times_redeemed__lte=models.F("max_redemptions")),
                name="coupon_redemptions_within_max",
            ),
        ]

    def __str__(self) -> str:
        return self.code


class CouponRedemption(models.Model):
    """A tenant's use of a coupon: applied to a subscription, or held for its next one."""

    class Status(models.TextChoices):
        HELD = "held", "Held for the next subscription"
        APPLIED = "applied", "Applied"

    coupon = models.ForeignKey(Coupon, on_delete=models.PROTECT, related_name="redemptions")
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices)
    subscription_id = models.CharField(max_length=255, blank=True)
    actor = models.CharField(max_length=200, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created"]
        constraints = [
            models.UniqueConstraint(fields=["coupon", "tenant"], name="coupon_once_per_tenant")
        ]

    def __str__(self) -> str:
        return f"{self.coupon} by {self.tenant} ({self.status})"
