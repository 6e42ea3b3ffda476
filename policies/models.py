"""Platform-wide billing policies: one row, edited in the admin, defaults from settings."""

from django.core.exceptions import ValidationError
from django.db import models

from billing_project.money import ISO_CURRENCIES


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


def validate_currency_amounts(value) -> None:
    if not isinstance(value, dict) or any(
        code not in ISO_CURRENCIES  # lower case only
        or isinstance(amount, bool)
        or not isinstance(amount, int)
        or amount < 0
        for code, amount in value.items()
    ):
        raise ValidationError(
            'Give {"currency": amount in its minor units}, e.g. {"jpy": 75000, "kwd": 150000}: '
            "lowercase ISO currency codes, whole numbers of 0 or more."
        )


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
        "user's approval, in the currencies without a threshold of their own (below)."
    )
    # One number of minor units is 500 dollars, but 50,000 yen and 50 Kuwaiti dinars.
    refund_approval_thresholds = models.JSONField(
        default=dict,
        blank=True,
        validators=[validate_currency_amounts],
        help_text='Thresholds of their own for some currencies, in their minor units, e.g. {"jpy": 75000, '
        '"kwd": 150000}; {} for none.',
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

    def refund_approval_threshold_of(self, currency: str) -> int:
        """The amount (minor units of `currency`) above which a refund in it waits for approval."""
        return int(
            self.refund_approval_thresholds.get(currency.lower(), self.refund_approval_threshold)
        )
