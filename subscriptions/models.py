"""The plan catalog: plans with prices (integer minor units), features and limits. Public schema."""

from django.core.exceptions import ValidationError
from django.db import models


def validate_limits(value) -> None:
    if not isinstance(value, dict):
        raise ValidationError("Limits are an object of resource type -> integer (null = unlimited).")
    for resource, limit in value.items():
        if not isinstance(resource, str) or not resource:
            raise ValidationError("Resource types are non-empty strings.")
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
            raise ValidationError(f"Limit of {resource} must be a non-negative integer or null.")


def validate_features(value) -> None:
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise ValidationError("Features are a list of non-empty strings.")


class Plan(models.Model):
    code = models.SlugField(max_length=50, unique=True, help_text="plan_id in the API, e.g. 'starter'.")
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    currency = models.CharField(max_length=3, default="usd")
    price_monthly = models.PositiveBigIntegerField(help_text="Minor units (cents).")
    price_yearly = models.PositiveBigIntegerField(help_text="Minor units (cents).")
    features = models.JSONField(default=list, blank=True, validators=[validate_features])
    limits = models.JSONField(default=dict, blank=True, validators=[validate_limits],
                              help_text='e.g. {"api_calls": 10000, "storage_gb": 50, "users": 5}; null = unlimited')
    is_public = models.BooleanField(default=True, help_text="Shown in GET /api/v1/plans and the portal.")
    is_active = models.BooleanField(default=True, help_text="Can be subscribed to.")
    stripe_product_id = models.CharField(max_length=255, blank=True)
    stripe_price_id = models.CharField(max_length=255, blank=True, help_text="Monthly Stripe Price.")
    stripe_price_id_yearly = models.CharField(max_length=255, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["price_monthly", "code"]
        constraints = [
            models.CheckConstraint(condition=models.Q(currency__regex=r"^[a-z]{3}$"), name="plan_currency_iso_lower"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def plan_id(self) -> str:
        return self.code
