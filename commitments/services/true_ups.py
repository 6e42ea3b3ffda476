"""The minimum commitment's true-up: Stripe leaves a renewal invoice a draft after
`invoice.created` so that the application can add to it; the handler adds one "Minimum commitment
true-up" item when the closed period's plan and usage charges (after discounts) fell short of the
commitment. Once per subscription and period: a claim row first (unique), then Stripe with a key
derived from both."""

from __future__ import annotations

import logging

from django.db import IntegrityError, transaction

from billing_project.stripe_gateway import invoices as stripe_invoices
from commitments import selectors
from commitments.models import CommitmentTrueUp
from commitments.selectors import TRUE_UP
from commitments.services.common import _at, _subscription_of
from commitments.services.thresholds import _one_off_invoice
from subscriptions.selectors import billing_account_get
from tenants.services import audit_record

logger = logging.getLogger(__name__)

TRUE_UP_DESCRIPTION = "Minimum commitment true-up"


def commitment_true_up(*, tenant, invoice, actor: str = "stripe") -> CommitmentTrueUp | None:
    """On a renewal's `invoice.created` (the invoice as Stripe has it now): add the true-up line to
    the draft when the closed period's spend fell short of the commitment, once per period. When
    the draft was finalized before this ran, the true-up is billed on an invoice of its own."""
    if invoice.get("billing_reason") != "subscription_cycle":
        return None
    subscription_id = _subscription_of(invoice)
    start, end = int(invoice.get("period_start") or 0), int(invoice.get("period_end") or 0)
    # A renewal's period is the one that just closed; a trial's end starts a period instead.
    if not subscription_id or end <= start or end > int(invoice["created"]):
        return None
    account = billing_account_get(tenant=tenant)
    if account is None or account.subscription_id != subscription_id:
        return None
    terms = selectors.terms_get(tenant=tenant)
    if not terms.minimum_commitment or terms.currency != invoice["currency"]:
        return None
    record = CommitmentTrueUp.objects.filter(
        tenant=tenant, subscription_id=subscription_id, period_start=_at(start)
    ).first()
    if record is None:
        draft = invoice if invoice["status"] == "draft" else None
        spent = selectors.period_spend(
            customer_id=invoice["customer"],
            subscription_id=subscription_id,
            start=start,
            end=end,
            extra=(invoice,) if draft is not None else (),
        )
        if spent >= terms.minimum_commitment:
            return None
        try:
            with transaction.atomic():
                record = CommitmentTrueUp.objects.create(
                    tenant=tenant,
                    subscription_id=subscription_id,
                    period_start=_at(start),
                    period_end=_at(end),
                    currency=invoice["currency"],
                    committed=terms.minimum_commitment,
                    spent=spent,
                    amount=terms.minimum_commitment - spent,
                    invoice_id=invoice["id"],
                )
                audit_record(
                    actor=actor,
                    action="commitments.true_up",
                    tenant=tenant,
                    target=invoice["id"],
                    after={
                        "committed": record.committed,
                        "spent": spent,
                        "amount": record.amount,
                        "currency": record.currency,
                        "period_start": start,
                    },
                )
        except IntegrityError:  # a concurrent delivery of the same renewal claimed it
            return None
    elif record.invoice_item_id:
        return record  # a re-delivery: added before
    key = f"commitment-true-up:{subscription_id}:{start}"
    metadata = {"purpose": TRUE_UP, "subscription": subscription_id, "period_start": str(start)}
    if invoice["status"] == "draft":
        item = stripe_invoices.invoice_item_create(
            customer_id=invoice["customer"],
            amount=record.amount,
            currency=record.currency,
            description=TRUE_UP_DESCRIPTION,
            key=key,
            invoice_id=invoice["id"],
            period=(start, end),
            discountable=False,  # the commitment is measured after discounts
            metadata=metadata,
        )
        CommitmentTrueUp.objects.filter(pk=record.pk).update(invoice_item_id=item.id)
        record.invoice_item_id = item.id
        return record
    logger.warning("renewal %s was finalized before its true-up: billed apart", invoice["id"])
    one_off = _one_off_invoice(
        tenant=tenant,
        customer_id=invoice["customer"],
        amount=record.amount,
        currency=record.currency,
        description=TRUE_UP_DESCRIPTION,
        period=(start, end),
        metadata=metadata,
        key=key,
        actor=actor,
    )
    CommitmentTrueUp.objects.filter(pk=record.pk).update(
        invoice_id=one_off["id"], invoice_item_id=one_off["item"]
    )
    record.invoice_id, record.invoice_item_id = one_off["id"], one_off["item"]
    return record
