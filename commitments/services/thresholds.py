"""Progressive billing: when the current period's usage charges not yet billed reach the
threshold, a one-off invoice bills them and is paid at once (its failure goes to dunning like any
invoice), and a pending deduction of the same amount goes on the subscription, so the renewal bills
only the rest. The crossing is decided under the tenant's advisory lock and claimed by a unique row
(subscription, period, sequence) before Stripe is called: two workers checking at once issue one
invoice, and no database lock is held while Stripe is called."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context

from billing_project.errors import DomainError
from billing_project.redis import redis_key
from billing_project.stripe_gateway import invoices as stripe_invoices
from commitments import selectors
from commitments.models import ThresholdInvoice
from commitments.selectors import THRESHOLD, THRESHOLD_CREDIT
from commitments.services.common import _at
from subscriptions.selectors import billing_account_get, tenant_now
from tenants.services import audit_record

logger = logging.getLogger(__name__)

THRESHOLD_DESCRIPTION = "Usage to date (billing threshold reached)"
THRESHOLD_CREDIT_DESCRIPTION = "Usage already billed on invoice {number}"
# After an ingest, one threshold check per tenant within this many seconds (the beat catches up).
CHECK_DEBOUNCE_SECONDS = 30
CLAIM_TIMEOUT = timedelta(minutes=5)


def _one_off_invoice(
    *,
    tenant,
    customer_id: str,
    amount: int,
    currency: str,
    description: str,
    period: tuple[int, int],
    metadata: dict[str, str],
    key: str,
    actor: str,
) -> dict[str, Any]:
    """Bill `amount` on an invoice of its own and collect it at once with the default payment
    method (a decline is recorded and goes to dunning, as for any invoice). Every Stripe call is
    keyed from `key`: a retry after a crash finishes the same invoice. Returns {"id", "number",
    "status", "item"}."""
    invoice = stripe_invoices.invoice_create(
        customer_id=customer_id,
        currency=currency,
        description=description,
        metadata=metadata,
        key=f"{key}:invoice",
    )
    item_id = ""
    if invoice.status == "draft":
        item = stripe_invoices.invoice_item_create(
            customer_id=customer_id,
            amount=amount,
            currency=currency,
            description=description,
            key=f"{key}:item",
            invoice_id=invoice.id,
            period=period,
            metadata=metadata,
        )
        item_id = item.id
        invoice = stripe_invoices.invoice_finalize(invoice_id=invoice.id, key=f"{key}:finalize")
    if invoice.status == "open" and invoice.amount_remaining > 0:
        from invoicing.models import PaymentAttempt
        from invoicing.services import payments

        try:
            with tenant_context(tenant):
                paid = payments.invoice_pay(
                    tenant=tenant,
                    invoice_id=invoice.id,
                    actor=actor,
                    trigger=PaymentAttempt.Trigger.STRIPE,
                    raise_decline=False,
                )
            status = paid.get("status", invoice.status)
        except DomainError as exc:  # no card on file: the open invoice waits in dunning's list
            logger.warning("invoice %s not collected now: %s", invoice.id, exc)
            status = invoice.status
    else:
        status = invoice.status
    return {"id": invoice.id, "number": invoice.number or "", "status": status, "item": item_id}


def _threshold_issue(record: ThresholdInvoice, *, customer_id: str, actor: str) -> None:
    """Bill a claimed crossing and put its deduction on the subscription's next invoice."""
    start = int(record.period_start.timestamp())
    end = int(record.period_end.timestamp())
    key = f"usage-threshold:{record.subscription_id}:{start}:{record.sequence}"
    metadata = {
        "purpose": THRESHOLD,
        "subscription": record.subscription_id,
        "sequence": str(record.sequence),
    }
    issued = _one_off_invoice(
        tenant=record.tenant,
        customer_id=customer_id,
        amount=record.amount,
        currency=record.currency,
        description=THRESHOLD_DESCRIPTION,
        period=(start, int(record.issued_at.timestamp())),
        metadata=metadata,
        key=key,
        actor=actor,
    )
    credit = stripe_invoices.invoice_item_create(
        customer_id=customer_id,
        amount=-record.amount,
        currency=record.currency,
        description=THRESHOLD_CREDIT_DESCRIPTION.format(number=issued["number"]),
        key=f"{key}:credit",
        subscription_id=record.subscription_id,
        period=(start, end),
        # Billed before discounts: the renewal's usage line carries them on the whole period.
        discountable=False,
        metadata={
            "purpose": THRESHOLD_CREDIT,
            "subscription": record.subscription_id,
            "invoice": issued["id"],
            "invoice_number": issued["number"],
        },
    )
    ThresholdInvoice.objects.filter(pk=record.pk).update(
        status=ThresholdInvoice.Status.ISSUED, invoice_id=issued["id"], credit_item_id=credit.id
    )
    record.status, record.invoice_id, record.credit_item_id = (
        ThresholdInvoice.Status.ISSUED,
        issued["id"],
        credit.id,
    )


# The first key of the tenant's advisory lock (the second is a hash of the tenant's id).
LOCK_NAMESPACE = 0x7C0A


def _tenant_lock(tenant) -> None:
    """Take the tenant's threshold lock until the end of the current transaction."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [LOCK_NAMESPACE, str(tenant.pk)]
        )


def usage_threshold_check(*, tenant, actor: str = "system") -> ThresholdInvoice | None:
    """Bill the current period's usage so far when what is not billed yet reached the threshold
    (the Celery task after ingest and the periodic one call this). Returns the invoice it issued."""
    from usage.services import usage_meter_push

    terms = selectors.terms_get(tenant=tenant)
    if not terms.usage_threshold:
        return None
    account = billing_account_get(tenant=tenant)
    if account is None or not account.subscription_id or account.status not in ("active",):
        return None
    customer_id = account.stripe_customer_id
    # A claim this old belongs to a worker that died before Stripe answered (a younger one is
    # still being issued by its worker).
    unfinished = ThresholdInvoice.objects.select_related("tenant").filter(
        tenant=tenant,
        status=ThresholdInvoice.Status.CLAIMED,
        created__lt=timezone.now() - CLAIM_TIMEOUT,
    )
    for record in unfinished:  # a worker died between its claim and Stripe: same keys, once
        _threshold_issue(record, customer_id=customer_id, actor=actor)
    usage_meter_push(tenant=tenant)  # Stripe prices what it has been told
    preview = selectors.upcoming_preview(
        customer_id=customer_id, subscription_id=account.subscription_id
    )
    if preview["currency"] != terms.currency:
        return None
    usage = selectors.usage_charges(preview)
    period_start = _at(preview["period_start"])
    try:
        with transaction.atomic():
            # The tenant's lock, for this short transaction only (Stripe is not called under it):
            # a worker that waited for it reads the crossing the other one just claimed.
            _tenant_lock(tenant)
            billed = selectors.threshold_billed(
                tenant=tenant, subscription_id=account.subscription_id, period_start=period_start
            )
            if usage - billed < terms.usage_threshold:
                return None
            sequence = (
                ThresholdInvoice.objects.filter(
                    tenant=tenant,
                    subscription_id=account.subscription_id,
                    period_start=period_start,
                ).count()
                + 1
            )
            record = ThresholdInvoice.objects.create(
                tenant=tenant,
                subscription_id=account.subscription_id,
                period_start=period_start,
                period_end=_at(preview["period_end"]),
                sequence=sequence,
                currency=terms.currency,
                threshold=terms.usage_threshold,
                amount=usage - billed,
                usage_total=usage,
                issued_at=tenant_now(tenant),
            )
            audit_record(
                actor=actor,
                action="commitments.threshold_invoice",
                tenant=tenant,
                target=f"{account.subscription_id}:{preview['period_start']}:{sequence}",
                after={
                    "amount": record.amount,
                    "usage_total": usage,
                    "threshold": record.threshold,
                    "currency": record.currency,
                },
            )
    except IntegrityError:
        return None  # the unique crossing: claimed by another worker (the lock's backstop)
    _threshold_issue(record, customer_id=customer_id, actor=actor)
    return record


def usage_threshold_debounce(*, tenant) -> tuple[str, int]:
    """The debounce claim of usage_threshold_check_soon (key, seconds): the usage ingest claims it
    with its other follow-ups in one Redis round trip (usage.counters.counters_store)."""
    return (
        redis_key("commitments", "threshold-check", tenant.schema_name),
        CHECK_DEBOUNCE_SECONDS,
    )


def usage_threshold_check_soon(*, tenant) -> None:
    """After an ingest, by the one that claimed usage_threshold_debounce (so at most once per tenant
    every CHECK_DEBOUNCE_SECONDS): a threshold check in a task, so ingest itself never waits for
    Stripe. Without Redis nobody claims it; the periodic check catches up."""
    if not selectors.terms_get(tenant=tenant).usage_threshold:
        return
    from commitments.tasks import usage_threshold_check as task

    with schema_context(tenant.schema_name):  # the task runs in the schema it was sent from
        task.apply_async(countdown=CHECK_DEBOUNCE_SECONDS)
