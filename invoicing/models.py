"""Invoice documents (branded PDFs), dunning state and payment attempts, refunds, credit notes and
adjustments. Tenant schema: every row belongs to the schema's tenant.

Stripe stays the system of record of the invoices themselves (read from dj-stripe's mirror); these
tables hold what Stripe does not: our retry schedule, the overdue flag, the PDF archive and the
finance actions with their maker-checker state. Money is integer minor units plus the currency.
"""

import uuid

from django.db import models
from django.db.models import F, Q
from django.utils import translation

from billing_project.money import money_format


def _money(amount: int, currency: str) -> str:
    return money_format(amount, currency or "usd", translation.get_language())


class InvoiceDocument(models.Model):
    """The branded PDF of one invoice, re-rendered when the invoice's status changes."""

    class Status(models.TextChoices):
        RENDERING = "rendering", "Rendering"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    invoice_id = models.CharField(max_length=255, unique=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RENDERING)
    file = models.FileField(upload_to="invoices/", max_length=500, blank=True)
    checksum = models.CharField(max_length=64, blank=True, help_text="SHA-256 of the stored file.")
    size = models.PositiveIntegerField(default=0)
    pages = models.PositiveIntegerField(default=0)
    locale = models.CharField(max_length=8, blank=True)
    invoice_status = models.CharField(
        max_length=32, blank=True, help_text="The invoice's status when rendered."
    )
    error = models.TextField(blank=True)
    rendered_at = models.DateTimeField(null=True, blank=True)
    requested_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="ready") | (~Q(file="") & ~Q(checksum="")),
                name="invoice_document_ready_has_file",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.invoice_id} PDF ({self.status})"


class InvoiceState(models.Model):
    """This service's view of one open (or once open) invoice: overdue flag and dunning."""

    class Dunning(models.TextChoices):
        NONE = "none", "No failed payment"
        SCHEDULED = "scheduled", "Retry scheduled"
        WAITING_FOR_CARD = "waiting_for_card", "Hard decline: waiting for a new card"
        RECOVERED = "recovered", "Paid after a failure"
        EXHAUSTED = "exhausted", "Retries exhausted (end state applied)"
        STOPPED = "stopped", "Stopped (invoice voided or uncollectible)"
        # 3-D Secure: no retry can pass it, only the customer; reminders on the retry schedule.
        ACTION_REQUIRED = "action_required", "Waiting for the customer to authenticate"

    invoice_id = models.CharField(max_length=255, unique=True)
    number = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=32, help_text="Stripe status as last seen.")
    currency = models.CharField(max_length=3)
    amount_due = models.BigIntegerField(default=0)
    amount_remaining = models.BigIntegerField(default=0)
    subscription_id = models.CharField(max_length=255, blank=True)
    finalized_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(
        null=True, blank=True, help_text="Stripe's due date, or finalization + policy days."
    )
    overdue_since = models.DateTimeField(null=True, blank=True, db_index=True)
    dunning = models.CharField(max_length=20, choices=Dunning.choices, default=Dunning.NONE)
    first_failed_at = models.DateTimeField(null=True, blank=True)
    next_retry_at = models.DateTimeField(
        null=True,
        blank=True,
        db_index=True,
        help_text="The next scheduled retry (or, waiting for authentication, the next reminder).",
    )
    retries_done = models.PositiveIntegerField(
        default=0, help_text="Scheduled retries (or authentication reminders) done so far."
    )
    last_decline_code = models.CharField(max_length=64, blank=True)
    end_state = models.CharField(max_length=10, blank=True)
    # A debit (SEPA Direct Debit) was submitted and has not settled: neither paid nor failed, so
    # nothing retries or re-charges it meanwhile (invoicing.services.processing).
    payment_processing = models.BooleanField(
        default=False, help_text="A bank debit (SEPA) is processing: it settles in a few days."
    )
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(currency__regex=r"^[a-z]{3}$"), name="invoice_state_currency_iso"
            ),
            models.CheckConstraint(
                condition=Q(next_retry_at__isnull=True)
                | Q(dunning__in=["scheduled", "action_required"]),
                name="invoice_state_retry_only_when_scheduled",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number or self.invoice_id} {self.status} ({self.dunning})"


class PaymentAttempt(models.Model):
    """One payment attempt of an invoice, whoever made it (Stripe's first charge, our retry, a
    pay-now). `attempt` is Stripe's attempt_count after it, so a webhook and our own call that saw the
    same attempt record it once."""

    class Outcome(models.TextChoices):
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        ACTION_REQUIRED = "action_required", "Needs the customer's authentication (3-D Secure)"

    class Trigger(models.TextChoices):
        STRIPE = "stripe", "Stripe (first charge)"
        SCHEDULE = "schedule", "Retry schedule"
        NEW_CARD = "new_card", "New default card"
        MANUAL = "manual", "Pay now"

    invoice_id = models.CharField(max_length=255, db_index=True)
    attempt = models.PositiveIntegerField()
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    trigger = models.CharField(max_length=16, choices=Trigger.choices, default=Trigger.STRIPE)
    decline_code = models.CharField(max_length=64, blank=True)
    message = models.TextField(blank=True)
    amount = models.BigIntegerField(default=0)
    currency = models.CharField(max_length=3)
    attempted_at = models.DateTimeField(
        help_text="In the tenant's time (its test clock's, if any)."
    )

    class Meta:
        ordering = ["invoice_id", "attempt"]
        constraints = [
            models.UniqueConstraint(fields=["invoice_id", "attempt"], name="payment_attempt_once")
        ]

    def __str__(self) -> str:
        return f"{self.invoice_id} #{self.attempt} {self.outcome}"


class Refund(models.Model):
    """A refund of a paid invoice, made through a credit note with refund_amount. Above the policy's
    threshold it waits for a second finance user (maker-checker) before anything reaches Stripe."""

    class Status(models.TextChoices):
        PENDING_APPROVAL = "pending_approval", "Pending approval"
        SUCCEEDED = "succeeded", "Succeeded"
        REJECTED = "rejected", "Rejected"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    invoice_id = models.CharField(max_length=255, db_index=True)
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    reason = models.TextField(blank=True)
    status = models.CharField(max_length=20, choices=Status.choices)
    requested_by = models.CharField(max_length=255)
    decided_by = models.CharField(max_length=255, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    stripe_refund_id = models.CharField(max_length=255, blank=True)
    credit_note_id = models.CharField(max_length=255, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive"),
            # The checker is never the maker, whatever path wrote the row.
            models.CheckConstraint(
                condition=Q(decided_by="") | ~Q(decided_by=F("requested_by")),
                name="refund_checker_is_not_maker",
            ),
        ]

    def __str__(self) -> str:
        return f"refund {_money(self.amount, self.currency)} of {self.invoice_id} ({self.status})"

    @property
    def refund_id(self) -> str:
        return str(self.id)


class CreditNote(models.Model):
    """A credit note issued through this service: a refund's (post-payment) or one on an open invoice."""

    class Kind(models.TextChoices):
        REFUND = "refund", "Refund of a paid invoice"
        CREDIT = "credit", "Reduction of an open invoice"

    credit_note_id = models.CharField(max_length=255, unique=True)
    invoice_id = models.CharField(max_length=255, db_index=True)
    number = models.CharField(max_length=64, blank=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    reason = models.TextField(blank=True)
    created_by = models.CharField(max_length=255)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="credit_note_amount_positive")
        ]

    def __str__(self) -> str:
        return f"{self.number or self.credit_note_id} {_money(self.amount, self.currency)}"


class Adjustment(models.Model):
    """A one-off line on the tenant's next invoice (a Stripe invoice item); negative is a credit."""

    stripe_invoice_item_id = models.CharField(max_length=255, unique=True)
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    description = models.CharField(max_length=500)
    created_by = models.CharField(max_length=255)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created"]
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="adjustment_amount_not_zero")
        ]

    def __str__(self) -> str:
        return f"{self.description} {_money(self.amount, self.currency)}"
