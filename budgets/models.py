"""Spend budgets. Public schema, like prepaid credits (the tenant's money settings sit beside its
wallet, and finance staff edit them from the public host); every row names its tenant.

A budget is one amount per tenant and billing period (monthly), in the currency the tenant is
billed in. `spent` and `projected` are computed when asked (budgets.selectors.spend_get); what is
stored is the budget itself, the alerts each period sent (one row per threshold and period: the
unique constraint makes "once" hold whichever worker checks first) and the hard cap's state.
"""

from django.db import models
from django.db.models import Q

from billing_project.money import money_text

THRESHOLDS = (50, 80, 100)


class Budget(models.Model):
    tenant = models.OneToOneField(
        "tenants.Tenant", on_delete=models.CASCADE, related_name="spend_budget"
    )
    amount = models.BigIntegerField(help_text="Minor units per billing period.")
    currency = models.CharField(max_length=3)
    hard_cap = models.BooleanField(
        default=False, help_text="Deny usage ingest and entitlement checks once spent >= amount."
    )
    # Set by the check when this period's spend reached the amount (with the cap on): the end of
    # that period, after which the cap no longer holds. The hot path reads it (through Redis).
    capped_until = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="budget_amount_positive"),
            models.CheckConstraint(
                condition=Q(currency__regex=r"^[a-z]{3}$"), name="budget_currency_iso_lower"
            ),
        ]

    def __str__(self):
        return f"{self.tenant.slug}: {money_text(self.amount, self.currency)} a period"


class BudgetAlert(models.Model):
    """A threshold of the budget reached in one billing period: its notification and outbound
    webhook went out with this row (once: the unique constraint)."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    period_start = models.DateTimeField()
    threshold = models.PositiveSmallIntegerField()
    spent = models.BigIntegerField(help_text="Minor units spent when the threshold was reached.")
    amount = models.BigIntegerField(help_text="The budget then (minor units).")
    currency = models.CharField(max_length=3)
    sent_at = models.DateTimeField(help_text="The tenant's time (test clock).")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-period_start", "threshold"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "period_start", "threshold"], name="budget_alert_once_per_period"
            ),
        ]

    def __str__(self):
        return f"{self.tenant.slug} {self.threshold}% ({self.period_start:%Y-%m-%d})"
