"""Minimum commitments and progressive billing. Public schema; every row names its tenant.

The terms: a plan's defaults (`PlanTerms`) and one tenant's subscription's own values
(`SubscriptionTerms`, set by finance staff), each amount in minor units of the plan's currency; a
tenant's value wins over its plan's. The records: one `CommitmentTrueUp` per subscription and
period (the guard against a second true-up, whichever webhook or retry reports the renewal) and one
`ThresholdInvoice` per crossing of the usage threshold (the claim that keeps two workers from
issuing two invoices for one crossing).
"""

from django.db import models
from django.db.models import Q

from billing_project.money import money_text


class PlanTerms(models.Model):
    """A plan's default minimum commitment and usage threshold."""

    plan = models.OneToOneField(
        "subscriptions.Plan", on_delete=models.CASCADE, related_name="commitment_terms"
    )
    minimum_commitment = models.PositiveBigIntegerField(
        null=True,
        blank=True,
        help_text="Minimum spend per period, minor units of the plan's currency (blank = none).",
    )
    usage_threshold = models.PositiveBigIntegerField(
        null=True,
        blank=True,
        help_text="Usage charges (minor units) that trigger an invoice mid-period (blank = none).",
    )
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "plan commitment terms"
        verbose_name_plural = "plan commitment terms"
        constraints = [
            models.CheckConstraint(
                condition=Q(usage_threshold__isnull=True) | Q(usage_threshold__gt=0),
                name="plan_terms_threshold_positive",
            ),
        ]

    def __str__(self):
        return f"{self.plan}"


class SubscriptionTerms(models.Model):
    """One tenant's subscription's own minimum commitment and usage threshold (staff-set)."""

    tenant = models.OneToOneField(
        "tenants.Tenant", on_delete=models.CASCADE, related_name="commitment_terms"
    )
    minimum_commitment = models.PositiveBigIntegerField(
        null=True,
        blank=True,
        help_text="Minimum spend per period, minor units (blank = the plan's).",
    )
    usage_threshold = models.PositiveBigIntegerField(
        null=True,
        blank=True,
        help_text="Usage charges (minor units) that trigger an invoice mid-period (blank = the plan's).",
    )
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "subscription commitment terms"
        verbose_name_plural = "subscription commitment terms"
        constraints = [
            models.CheckConstraint(
                condition=Q(usage_threshold__isnull=True) | Q(usage_threshold__gt=0),
                name="subscription_terms_threshold_positive",
            ),
        ]

    def __str__(self):
        return f"{self.tenant}"


class CommitmentTrueUp(models.Model):
    """The true-up of one subscription period: written before Stripe is called (the claim), the
    invoice item's id once Stripe took it."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    subscription_id = models.CharField(max_length=255)
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    currency = models.CharField(max_length=3)
    committed = models.BigIntegerField()
    spent = models.BigIntegerField(help_text="Subscription and usage charges after discounts.")
    amount = models.BigIntegerField()
    invoice_id = models.CharField(max_length=255, help_text="The renewal invoice it is on.")
    invoice_item_id = models.CharField(max_length=255, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-period_start"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "subscription_id", "period_start"],
                name="commitment_true_up_once_per_period",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="commitment_true_up_positive"),
        ]

    def __str__(self):
        return f"{self.subscription_id} {self.period_start:%Y-%m-%d}: {money_text(self.amount, self.currency)}"


class ThresholdInvoice(models.Model):
    """An invoice for the usage of a period so far, issued when it reached the threshold. The
    `sequence` (1, 2, ... per period) is the crossing: unique, so one invoice per crossing."""

    class Status(models.TextChoices):
        CLAIMED = "claimed", "Claimed"
        ISSUED = "issued", "Issued"

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    subscription_id = models.CharField(max_length=255)
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    sequence = models.PositiveIntegerField()
    currency = models.CharField(max_length=3)
    threshold = models.BigIntegerField()
    amount = models.BigIntegerField(help_text="Usage charges billed by this invoice.")
    usage_total = models.BigIntegerField(help_text="The period's usage charges when it was issued.")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.CLAIMED)
    invoice_id = models.CharField(max_length=255, blank=True)
    credit_item_id = models.CharField(
        max_length=255, blank=True, help_text="The renewal's deduction of what this invoice billed."
    )
    issued_at = models.DateTimeField(help_text="The tenant's time (test clock).")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-period_start", "-sequence"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "subscription_id", "period_start", "sequence"],
                name="threshold_invoice_once_per_crossing",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="threshold_invoice_positive"),
        ]

    def __str__(self):
        return (
            f"{self.subscription_id} {self.period_start:%Y-%m-%d} #{self.sequence}: "
            f"{money_text(self.amount, self.currency)}"
        )

    @property
    def invoice_or_none(self) -> str | None:
        return self.invoice_id or None
