"""Prepaid credits. Public schema; every row names its tenant.

The money itself sits in the tenant's Stripe customer credit balance (a negative `balance`, which
Stripe applies to every invoice at finalization before the card is charged). These rows say where
that money came from (grants: bought, given by staff, promotional or paid, with an expiry), which
grant each invoice consumed (promotional first, earlier expiry first) and the running balance.
"""

from django.db import models
from django.db.models import Q

from billing_project.money import money_text


class CreditWallet(models.Model):
    """One per tenant and currency. Its row is the lock every balance change takes."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    currency = models.CharField(max_length=3)
    balance = models.BigIntegerField(default=0, help_text="Minor units; sum of grants' remaining.")
    auto_top_up_below = models.BigIntegerField(
        null=True, blank=True, help_text="Buy auto_top_up_amount when the balance falls below this."
    )
    auto_top_up_amount = models.BigIntegerField(null=True, blank=True)
    low_balance_below = models.BigIntegerField(
        null=True, blank=True, help_text="Notify once when the balance falls below this."
    )
    low_balance_alerts = models.PositiveIntegerField(
        default=0, help_text="Low-balance notifications sent (the dedup key of the next one)."
    )
    low_balance_notified = models.BooleanField(default=False)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "currency"], name="credit_wallet_per_currency"
            ),
            models.CheckConstraint(condition=Q(balance__gte=0), name="credit_wallet_not_negative"),
            models.CheckConstraint(
                condition=Q(auto_top_up_below__isnull=True, auto_top_up_amount__isnull=True)
                | Q(auto_top_up_below__gte=0, auto_top_up_amount__gt=0),
                name="credit_wallet_auto_top_up_pair",
            ),
        ]

    def __str__(self):
        return f"{self.tenant.slug} {self.currency.upper()} wallet"


class CreditGrant(models.Model):
    class Category(models.TextChoices):
        PAID = "paid", "Paid"
        PROMOTIONAL = "promotional", "Promotional"

    class Source(models.TextChoices):
        TOP_UP = "top_up", "Top-up"
        AUTO_TOP_UP = "auto_top_up", "Automatic top-up"
        STAFF = "staff", "Granted by staff"

    class State(models.TextChoices):
        ACTIVE = "active", "Active"
        EXPIRED = "expired", "Expired"
        VOIDED = "voided", "Voided"

    wallet = models.ForeignKey(CreditWallet, on_delete=models.CASCADE, related_name="grants")
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    category = models.CharField(max_length=12, choices=Category.choices)
    source = models.CharField(max_length=12, choices=Source.choices)
    amount = models.BigIntegerField()
    remaining = models.BigIntegerField()
    expires_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(blank=True)
    actor = models.CharField(max_length=255)
    state = models.CharField(max_length=8, choices=State.choices, default=State.ACTIVE)
    # The top-up's payment: one grant per PaymentIntent, however often its success is reported.
    payment_intent_id = models.CharField(max_length=255, null=True, blank=True, unique=True)
    # The Stripe balance transactions that put the credit on the customer and took the rest away
    # (empty until posted: posted after commit, retried by `credits_stripe_sync`).
    stripe_credit_txn_id = models.CharField(max_length=255, blank=True)
    closed_amount = models.BigIntegerField(default=0, help_text="What expiry or voiding removed.")
    stripe_close_txn_id = models.CharField(max_length=255, blank=True)
    granted_at = models.DateTimeField(help_text="The tenant's time (test clock) of the grant.")
    closed_at = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-granted_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="credit_grant_positive"),
            models.CheckConstraint(
                condition=Q(remaining__gte=0, remaining__lte=models.F("amount")),
                name="credit_grant_remaining_in_range",
            ),
        ]

    def __str__(self):
        return f"grant {self.pk} ({self.category}, {money_text(self.amount, self.wallet.currency)})"

    @property
    def wallet_currency(self) -> str:
        return self.wallet.currency


class CreditLedgerEntry(models.Model):
    class Kind(models.TextChoices):
        GRANTED = "granted", "Granted"
        APPLIED = "applied", "Applied to invoice"
        EXPIRED = "expired", "Expired"
        VOIDED = "voided", "Voided"

    wallet = models.ForeignKey(CreditWallet, on_delete=models.CASCADE, related_name="entries")
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    grant = models.ForeignKey(CreditGrant, on_delete=models.CASCADE, related_name="entries")
    amount = models.BigIntegerField(help_text="Signed minor units: + granted, - used or removed.")
    balance_after = models.BigIntegerField()
    invoice_id = models.CharField(max_length=255, blank=True)
    occurred_at = models.DateTimeField(help_text="The tenant's time (test clock).")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-pk"]
        verbose_name_plural = "credit ledger entries"
        constraints = [
            # Granting, expiring and voiding happen once per grant; each invoice uses a grant once.
            models.UniqueConstraint(
                fields=["grant", "kind"],
                condition=~Q(kind="applied"),
                name="credit_entry_once_per_grant",
            ),
            models.UniqueConstraint(
                fields=["grant", "invoice_id"],
                condition=Q(kind="applied"),
                name="credit_entry_once_per_invoice_grant",
            ),
        ]

    def __str__(self):
        currency = self.wallet.currency
        return (
            f"{self.kind} {money_text(self.amount, currency)}"
            f" (balance {money_text(self.balance_after, currency)})"
        )

    @property
    def wallet_currency(self) -> str:
        return self.wallet.currency

    @property
    def invoice(self) -> str | None:
        return self.invoice_id or None


class InvoiceCredit(models.Model):
    """What an invoice took from the wallet: recorded once per invoice (the unique row is the guard
    against applying the same invoice twice, whichever webhook or retry reports it)."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    wallet = models.ForeignKey(CreditWallet, on_delete=models.CASCADE, related_name="+")
    invoice_id = models.CharField(max_length=255)
    amount = models.BigIntegerField(help_text="Credit Stripe applied to the invoice (minor units).")
    auto_top_up_done = models.BooleanField(default=False)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "invoice_id"], name="invoice_credit_once"),
        ]

    def __str__(self):
        return f"{self.invoice_id}: {money_text(self.amount, self.wallet.currency)}"
