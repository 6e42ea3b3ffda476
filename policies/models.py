"""Platform-wide billing policies: one row, edited in the admin, defaults from settings."""

from django.core.exceptions import ValidationError
from django.db import models


def validate_retry_days(value) -> None:
    if not isinstance(value, list) or not value:
        raise ValidationError(
            "Give the retry days as a non-empty list of integers, e.g. [1, 3, 5, 7]."
        )
    if any(isinstance(day, bool) or not isinstance(day, int) or day < 1 for day in value):
        raise ValidationError("Retry days are positive integers.")
    if value != sorted(set(value)):
        raise ValidationError("Retry days are strictly increasing.")


def validate_codes(value) -> None:
    if not isinstance(value, list) or not all(isinstance(code, str) and code for code in value):
        raise ValidationError("Give a list of Stripe decline codes.")


class DunningEndState(models.TextChoices):
    UNPAID = "unpaid", "Unpaid (the subscription stays, the invoice stays open, no more retries)"
    CANCELED = "canceled", "Canceled (the subscription is canceled)"


class BillingPolicy(models.Model):
    """The single policy row (pk 1), created from settings by `policies.services.policy_ensure`; until
    then `policies.selectors.policy_get` reads the settings' defaults."""

    retry_days = models.JSONField(
        validators=[validate_retry_days],
        help_text="Days after the first failed payment on which this service retries, e.g. [1, 3, 5, 7].",
    )
    hard_decline_codes = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_codes],
        help_text="Decline codes after which no retry is made until the tenant's default card changes.",
    )
    end_state = models.CharField(
        max_length=10,
        choices=DunningEndState.choices,
        default=DunningEndState.CANCELED,
        help_text="What happens to the subscription after the last failed retry.",
    )
    refund_approval_threshold = models.PositiveBigIntegerField(
        help_text="Refunds above this amount (minor units of the invoice's currency) need a second finance "
        "user's approval."
    )
    auto_charge_due_days = models.PositiveIntegerField(
        default=7,
        help_text="Automatically charged invoices have no Stripe due date: they are due this many "
        "days after finalization.",
    )
    overdue_grace_days = models.PositiveIntegerField(
        default=0, help_text="An open invoice becomes overdue this many days after its due date."
    )
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "billing policy"
        verbose_name_plural = "billing policy"
        constraints = [
            models.CheckConstraint(condition=models.Q(pk=1), name="billing_policy_single_row")
        ]

    def __str__(self) -> str:
        return "Billing policy"
