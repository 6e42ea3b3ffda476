"""Finance facts: small tables kept from the billing events and webhooks, read by the Finance
overview, the analytics API and the revenue report (never scans of Stripe's mirror).

Public schema, keyed by tenant. The readers are the platform's finance staff looking across every
tenant at once ("MRR in EUR", "who churned in March"); in the tenants' schemas every figure would be
a UNION over thousands of schemas. Each row names its tenant and nothing here is ever shown to a
tenant, so the public schema keeps the cross-tenant report one indexed query. Money is integer
minor units plus the lower-case currency; amounts in different currencies are never added.
"""

from django.db import models
from django.db.models import Q


class MovementKind(models.TextChoices):
    NEW = "new", "New"
    EXPANSION = "expansion", "Expansion"
    CONTRACTION = "contraction", "Contraction"
    CHURN = "churn", "Churned"
    REACTIVATION = "reactivation", "Reactivation"
    STATUS = "status", "Status change (no MRR change)"


MRR_KINDS = (
    MovementKind.NEW,
    MovementKind.EXPANSION,
    MovementKind.CONTRACTION,
    MovementKind.CHURN,
    MovementKind.REACTIVATION,
)


class SubscriptionFact(models.Model):
    """A tenant's subscription as the analytics last recorded it: what the next movement is measured
    against. One row per tenant."""

    tenant = models.OneToOneField("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    subscription_id = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=32, blank=True)
    plan_code = models.CharField(max_length=50, blank=True)
    billing_cycle = models.CharField(max_length=10, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    mrr = models.BigIntegerField(default=0, help_text="Minor units.")
    ever_paid = models.BooleanField(
        default=False, help_text="Had MRR before (a return is a reactivation, not new)."
    )
    as_of = models.DateTimeField(null=True, blank=True, help_text="Tenant clock time.")

    def __str__(self) -> str:
        return f"{self.tenant_id} {self.status} {self.mrr} {self.currency}"


class MrrMovement(models.Model):
    """One change of a tenant's MRR or subscription status, on the tenant's (test clock) date.

    MRR at a date is the sum of the deltas up to it; the paying count is the number of new and
    reactivation rows less the churned ones; status counts read the latest row per tenant."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    subscription_id = models.CharField(max_length=255, blank=True)
    occurred_at = models.DateTimeField()
    day = models.DateField()
    month = models.DateField(help_text="First day of the movement's month.")
    currency = models.CharField(max_length=3)
    kind = models.CharField(max_length=16, choices=MovementKind.choices)
    mrr_before = models.BigIntegerField(default=0)
    mrr_after = models.BigIntegerField(default=0)
    delta = models.BigIntegerField(default=0)
    status_before = models.CharField(max_length=32, blank=True)
    status_after = models.CharField(max_length=32, blank=True)
    plan_before = models.CharField(max_length=50, blank=True)
    plan_after = models.CharField(max_length=50, blank=True)
    source = models.CharField(max_length=100, blank=True, help_text="Stripe event id or backfill.")

    class Meta:
        ordering = ["occurred_at", "id"]
        indexes = [
            models.Index(fields=["currency", "month", "kind"], name="mrrmove_cur_month_kind"),
            models.Index(fields=["tenant", "occurred_at"], name="mrrmove_tenant_time"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(currency__regex=r"^[a-z]{3}$"), name="mrrmove_cur"),
            models.CheckConstraint(
                condition=Q(delta=models.F("mrr_after") - models.F("mrr_before")),
                name="mrrmove_delta",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.tenant_id} {self.kind} {self.delta} {self.currency}"


class InvoiceFact(models.Model):
    """One finalized invoice: cash, receivables ageing, dunning recovery and usage revenue."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    invoice_id = models.CharField(max_length=255, unique=True)
    number = models.CharField(max_length=64, blank=True)
    subscription_id = models.CharField(max_length=255, blank=True)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=32)
    total = models.BigIntegerField(default=0)
    amount_paid = models.BigIntegerField(default=0)
    amount_remaining = models.BigIntegerField(default=0)
    usage_amount = models.BigIntegerField(default=0, help_text="Metered (usage) lines.")
    finalized_on = models.DateField(null=True, blank=True)
    due_on = models.DateField(null=True, blank=True)
    paid_on = models.DateField(null=True, blank=True)
    first_failed_on = models.DateField(null=True, blank=True)
    recovered = models.BooleanField(default=False, help_text="Paid after a failed payment.")

    class Meta:
        indexes = [
            models.Index(fields=["currency", "status", "due_on"], name="invfact_ar"),
            models.Index(fields=["currency", "paid_on"], name="invfact_cash"),
            models.Index(fields=["currency", "first_failed_on"], name="invfact_failed"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(currency__regex=r"^[a-z]{3}$"), name="invfact_cur")
        ]

    def __str__(self) -> str:
        return f"{self.number or self.invoice_id} {self.status}"


class RefundFact(models.Model):
    """Money given back: a credit note's refunded (or credited) amount, on its date."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    credit_note_id = models.CharField(max_length=255, unique=True)
    invoice_id = models.CharField(max_length=255, db_index=True)
    currency = models.CharField(max_length=3)
    amount = models.BigIntegerField(help_text="Refunded to the customer (minor units).")
    credited = models.BigIntegerField(default=0, help_text="The credit note's total.")
    day = models.DateField()

    class Meta:
        indexes = [models.Index(fields=["currency", "day"], name="refundfact_cur_day")]

    def __str__(self) -> str:
        return f"{self.credit_note_id} {self.amount} {self.currency}"


class FinanceOverview(MrrMovement):
    """The admin's Finance overview page (analytics.admin), registered on the movement ledger."""

    class Meta:
        proxy = True
        verbose_name = "Finance overview"
        verbose_name_plural = "Finance overview"


class RevenueSchedule(models.Model):
    """One finalized invoice line with its service period, recognised straight line per day
    (analytics.recognition); a one-off line is a one-day schedule on its issue day."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    invoice_id = models.CharField(max_length=255, db_index=True)
    line_id = models.CharField(max_length=255)
    plan_code = models.CharField(max_length=50, blank=True)
    description = models.CharField(max_length=500, blank=True)
    currency = models.CharField(max_length=3)
    amount = models.BigIntegerField(help_text="Net of discounts, minor units.")
    issued_on = models.DateField()
    service_start = models.DateField()
    service_end = models.DateField(help_text="Exclusive.")

    class Meta:
        indexes = [models.Index(fields=["currency", "service_end"], name="revsched_cur_end")]
        constraints = [
            models.UniqueConstraint(fields=["invoice_id", "line_id"], name="revsched_line_once"),
            models.CheckConstraint(
                condition=Q(service_end__gt=models.F("service_start")), name="revsched_period"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.invoice_id}/{self.line_id} {self.amount} {self.currency}"


class RevenueReversal(models.Model):
    """The part of a credit note (or refund) that takes back one schedule, on its day."""

    schedule = models.ForeignKey(
        RevenueSchedule, on_delete=models.CASCADE, related_name="reversals"
    )
    source_id = models.CharField(max_length=255, help_text="Credit note id.")
    day = models.DateField()
    amount = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["schedule", "source_id"], name="revrev_once"),
        ]

    def __str__(self) -> str:
        return f"{self.source_id} -{self.amount}"


class JournalAccount(models.Model):
    """The ledger account code of each role in the journal export, set by finance in the admin."""

    class Role(models.TextChoices):
        RECEIVABLE = "receivable", "Accounts receivable"
        CASH = "cash", "Cash"
        DEFERRED_REVENUE = "deferred_revenue", "Deferred revenue"
        REVENUE = "revenue", "Revenue"

    DEFAULT_CODES = {
        "receivable": "1200",
        "cash": "1000",
        "deferred_revenue": "2400",
        "revenue": "4000",
    }

    role = models.CharField(max_length=20, choices=Role.choices, unique=True)
    code = models.CharField(max_length=32)
    name = models.CharField(max_length=100, blank=True)

    def __str__(self) -> str:
        return f"{self.code} {self.name or self.get_role_display()}"


class RevenueReport(RevenueSchedule):
    """The admin's monthly revenue report page (analytics.admin)."""

    class Meta:
        proxy = True
        verbose_name = "Revenue report"
        verbose_name_plural = "Revenue report"
