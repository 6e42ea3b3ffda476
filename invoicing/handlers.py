"""Invoicing's reactions to Stripe events, registered by event type (the registry and the endpoint:
billing_project.stripe_gateway.webhooks, subscriptions.services.webhooks).

Payloads may be stale or arrive out of order, so invoice handlers act on the invoice the endpoint
re-fetched once (`fresh=True`: expanded for dj-stripe's mirror and with its payments' intents, which
carry the decline), never on the delivered copy. A failed payment's path: `invoice_changed` ->
`payments.payment_failure_record` (attempt, announcement, next retry) -> the `dunning_run_due` task.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django_tenants.utils import tenant_context

from billing_project.stripe_gateway.invoices import action_required_of, last_payment_error_of
from billing_project.stripe_gateway.webhooks import StripeEvent, stripe_webhook
from invoicing.services import documents as document_services
from invoicing.services import payments
from invoicing.services.common import emit, mirror_invoice

logger = logging.getLogger(__name__)

# Events that change what this app keeps (state, attempts, dunning, PDFs) ...
INVOICE_EVENTS = (
    "invoice.finalized",
    "invoice.paid",
    "invoice.payment_succeeded",
    "invoice.payment_failed",
    "invoice.voided",
    "invoice.marked_uncollectible",
    "invoice.updated",
)
# ... and those that only refresh dj-stripe's copy of the invoice.
MIRRORED_EVENTS = ("invoice.created", "invoice.sent")
# A payment waiting for the customer's 3-D Secure (Stripe also sends invoice.payment_failed for
# it): not a decline; dunning waits for the customer (payments.payment_action_required_record).
ACTION_EVENTS = ("invoice.payment_action_required",)


@stripe_webhook(*INVOICE_EVENTS, *MIRRORED_EVENTS, *ACTION_EVENTS, fresh=True)
def invoice_changed(event: StripeEvent) -> str:
    """Mirror the invoice and follow its state; returns what was done."""
    tenant, data, kind = event.tenant, event.object, event.type
    mirror_invoice(data, fresh=True)
    if kind in MIRRORED_EVENTS:
        return "mirrored"
    with tenant_context(tenant), transaction.atomic():
        if data["status"] == "draft":
            return "draft"
        if kind in (*ACTION_EVENTS, "invoice.payment_failed") and data["status"] == "open":
            action = action_required_of(data)
            if action is not None:
                payments.payment_action_required_record(
                    tenant=tenant, data=data, action=action.detail
                )
                return "payment_action_required"
        if kind == "invoice.payment_failed" and data["status"] == "open":
            error = last_payment_error_of(data) or {}
            payments.payment_failure_record(
                tenant=tenant,
                data=data,
                # A bank debit's failure (SEPA) has Stripe's code but no card decline code.
                decline_code=error.get("decline_code") or error.get("code") or "card_declined",
                message=error.get("message", ""),
            )
            return "payment_failed"
        if data["status"] == "paid" and kind in ("invoice.paid", "invoice.payment_succeeded"):
            payments.payment_success_record(tenant=tenant, data=data)
            return "paid"
        payments.invoice_state_sync(tenant=tenant, data=data)
        if kind == "invoice.finalized":
            emit(
                tenant=tenant,
                kind="invoice_finalized",
                object_id=data["id"],
                data={
                    "invoice_number": data.get("number"),
                    "amount_due": data.get("amount_due"),
                    "currency": data["currency"],
                    "due_date": data.get("due_date"),
                    "hosted_invoice_url": data.get("hosted_invoice_url"),
                },
            )
        if kind in ("invoice.finalized", "invoice.voided", "invoice.marked_uncollectible"):
            document_services.document_request(tenant=tenant, invoice_id=data["id"])
    return kind.removeprefix("invoice.")


@stripe_webhook("customer.updated")
def customer_card_changed(event: StripeEvent) -> str:
    """customer.updated with a new default card: retry the tenant's invoices in dunning at once."""
    previous = event.previous_attributes
    if "invoice_settings" not in previous:
        return "ignored"
    old = (previous.get("invoice_settings") or {}).get("default_payment_method")
    new = (event.payload_object.get("invoice_settings") or {}).get("default_payment_method")
    if not new or new == old:
        return "ignored"
    with tenant_context(event.tenant):
        retried = payments.dunning_card_changed(tenant=event.tenant)
    return f"retried {retried}"
