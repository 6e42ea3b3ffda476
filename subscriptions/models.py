"""The plan catalog: plans with prices (integer minor units), features and limits. Public schema."""

import re

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.db import models


def validate_limits(value) -> None:
    if not isinstance(value, dict):
        raise ValidationError(
            "Limits are an object of resource type -> integer (null = unlimited)."
        )
    for resource, limit in value.items():
        if not isinstance(resource, str) or not resource:
            raise ValidationError("Resource types are non-empty strings.")
        if limit is not None and (
            isinstance(limit, bool) or not isinstance(limit, int) or limit < 0
        ):
            raise ValidationError(f"Limit of {resource} must be a non-negative integer or null.")


def validate_resource_list(value) -> None:
    if (
        not isinstance(value, list)
        or not all(isinstance(item, str) and item for item in value)
        or len(set(value)) != len(value)
    ):
        raise ValidationError("A list of distinct resource types.")


MAX_THRESHOLD = 1000


def validate_thresholds(value) -> None:
    if not isinstance(value, list) or any(
        isinstance(t, bool) or not isinstance(t, int) for t in value
    ):
        raise ValidationError("Thresholds are a list of integer percentages.")
    if any(not 1 <= t <= MAX_THRESHOLD for t in value):
        raise ValidationError(f"Thresholds are percentages from 1 to {MAX_THRESHOLD}.")
    if value != sorted(set(value)):
        raise ValidationError("Thresholds are sorted ascending, without repeats.")


def default_thresholds() -> list[int]:
    return [80, 100]


def validate_features(value) -> None:
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise ValidationError("Features are a list of non-empty strings.")


def validate_feature_keys(value) -> None:
    if not isinstance(value, list) or not all(
        isinstance(item, str) and re.fullmatch(r"[a-z][a-z0-9_]{0,49}", item) for item in value
    ):
        raise ValidationError('Feature keys are a list of snake_case keys, e.g. ["sso"].')
    if len(set(value)) != len(value):
        raise ValidationError("A feature key is listed twice.")


class Plan(models.Model):
    code = models.SlugField(
        max_length=50, unique=True, help_text="plan_id in the API, e.g. 'starter'."
    )
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    currency = models.CharField(max_length=3, default="usd")
    price_monthly = models.PositiveBigIntegerField(help_text="Minor units (cents).")
    price_yearly = models.PositiveBigIntegerField(help_text="Minor units (cents).")
    features = models.JSONField(default=list, blank=True, validators=[validate_features])
    feature_keys = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_feature_keys],
        help_text='Boolean features the plan grants, by key (entitlements.Feature), e.g. ["sso"].',
    )
    limits = models.JSONField(
        default=dict,
        blank=True,
        validators=[validate_limits],
        help_text='e.g. {"api_calls": 10000, "storage_gb": 50, "users": 5}; null = unlimited',
    )
    hard_limits = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_resource_list],
        help_text='Resources denied beyond their limit (entitlement check), e.g. ["api_calls"]; the others are '
        "soft: allowed, alerted and, for the overage resource, billed.",
    )
    alert_thresholds = models.JSONField(
        default=default_thresholds,
        blank=True,
        validators=[validate_thresholds],
        help_text="Percentages of a limit that notify the tenant once per period, e.g. [80, 100] (1-1000, "
        "ascending; empty = no alerts).",
    )
    overage_resource = models.CharField(
        max_length=50,
        blank=True,
        help_text="A limited, summed resource billed above its limit (Stripe metered price), e.g. api_calls; "
        "blank = no overage billing.",
    )
    overage_unit_amount = models.PositiveBigIntegerField(
        default=0,
        help_text="Minor units (cents) per block above the limit, charged pro rata per unit.",
    )
    overage_block_size = models.PositiveIntegerField(
        default=1,
        help_text="Units per priced block: 1000 = the amount is per 1,000 units above the limit.",
    )
    is_public = models.BooleanField(
        default=True, help_text="Shown in GET /api/v1/plans and the portal."
    )
    is_active = models.BooleanField(default=True, help_text="Can be subscribed to.")
    trial_days = models.PositiveSmallIntegerField(
        default=0,
        validators=[MaxValueValidator(90)],
        help_text="Free trial of a new subscription in the portal, in days (0 = none, at most 90).",
    )
    trial_without_card = models.BooleanField(
        default=False,
        help_text="The trial starts without a payment method; without one when it ends, the "
        "subscription is canceled.",
    )
    stripe_product_id = models.CharField(max_length=255, blank=True)
    stripe_price_id = models.CharField(
        max_length=255, blank=True, help_text="Monthly Stripe Price."
    )
    stripe_price_id_yearly = models.CharField(max_length=255, blank=True)
    stripe_overage_price_id = models.CharField(
        max_length=255, blank=True, help_text="Monthly metered (graduated tiers) Stripe Price."
    )
    stripe_overage_price_id_yearly = models.CharField(max_length=255, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["price_monthly", "code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(currency__regex=r"^[a-z]{3}$"), name="plan_currency_iso_lower"
            ),
            models.CheckConstraint(
                condition=models.Q(overage_block_size__gte=1), name="plan_overage_block_size_min_1"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def plan_id(self) -> str:
        return self.code

    def clean(self) -> None:
        super().clean()
        errors = {}
        limits = self.limits if isinstance(self.limits, dict) else {}
        if isinstance(self.hard_limits, list):
            unknown = [r for r in self.hard_limits if r not in limits]
            if unknown:
                errors["hard_limits"] = f"Not in limits: {', '.join(map(str, unknown))}."
        if self.overage_resource:
            if limits.get(self.overage_resource) is None:
                errors["overage_resource"] = (
                    "The overage resource needs a (non-null) limit in limits."
                )
            elif isinstance(self.hard_limits, list) and self.overage_resource in self.hard_limits:
                errors["overage_resource"] = (
                    "A hard-limited resource never goes above its limit: make it soft."
                )
            if not self.overage_unit_amount:
                errors["overage_unit_amount"] = "An overage needs an amount per block."
            if (self.overage_block_size or 0) < 1:
                errors["overage_block_size"] = "At least 1."
        if errors:
            raise ValidationError(errors)

    @property
    def has_overage(self) -> bool:
        return bool(self.overage_resource and self.overage_unit_amount)

    @property
    def overage_limit(self) -> int | None:
        """The free allowance of the overage resource per monthly period."""
        return (self.limits or {}).get(self.overage_resource) if self.overage_resource else None


class BillingCycle(models.TextChoices):
    MONTHLY = "monthly", "Monthly"
    YEARLY = "yearly", "Yearly"


LIVE_STATUSES = ("trialing", "active", "past_due", "unpaid", "incomplete")


class BillingAccount(models.Model):
    """One per tenant: its Stripe customer and the state of its subscription as last read from Stripe.

    Webhook handlers and services write it after re-fetching the subscription, so it is the fast,
    indexed read model behind entitlements; dj-stripe keeps the full mirror of the Stripe objects.
    """

    tenant = models.OneToOneField(
        "tenants.Tenant", on_delete=models.CASCADE, related_name="billing_account"
    )
    stripe_customer_id = models.CharField(max_length=255, blank=True, db_index=True)
    test_clock_id = models.CharField(max_length=255, blank=True)
    clock_time = models.DateTimeField(
        null=True, blank=True, help_text="Frozen time of the customer's test clock (its 'now')."
    )
    subscription_id = models.CharField(max_length=255, blank=True, db_index=True)
    status = models.CharField(max_length=32, blank=True, help_text="Stripe subscription status.")
    plan = models.ForeignKey(
        Plan, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    billing_cycle = models.CharField(max_length=10, choices=BillingCycle.choices, blank=True)
    cancel_at_period_end = models.BooleanField(default=False)
    trial_end = models.DateTimeField(null=True, blank=True)
    current_period_start = models.DateTimeField(null=True, blank=True)
    current_period_end = models.DateTimeField(null=True, blank=True)
    latest_invoice_id = models.CharField(max_length=255, blank=True)
    past_due_since = models.DateTimeField(null=True, blank=True)
    # A downgrade at period end changes the Stripe price at once (without proration), so the
    # tenant keeps what it paid for until the period ends.
    previous_plan = models.ForeignKey(
        Plan, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    previous_plan_until = models.DateTimeField(null=True, blank=True)
    updated = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.tenant} {self.status or 'no subscription'}"

    @property
    def is_live(self) -> bool:
        return bool(self.subscription_id) and self.status in LIVE_STATUSES


class WebhookEvent(models.Model):
    """A Stripe event received by POST /api/v1/webhooks/stripe: processed once by id.

    `processing` is a claim taken in a short transaction (no lock is held while the handlers call
    Stripe); `started_at` tells a claim of a worker that died from one in progress."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PROCESSING = "processing", "Processing"
        PROCESSED = "processed", "Processed"
        IGNORED = "ignored", "Ignored"
        FAILED = "failed", "Failed"

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100, db_index=True)
    tenant = models.ForeignKey(
        "tenants.Tenant", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    payload = models.JSONField()
    stripe_created = models.DateTimeField(null=True, blank=True)
    received = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received"]

    def __str__(self) -> str:
        return f"{self.event_id} {self.type} {self.status}"
