"""Reactions to Stripe events about invoices and customers.

The subscriptions app owns the webhook endpoint (verification, once-per-event-id); it hands events
of these types to `on_invoice_event` / `on_customer_event`. Payloads may be stale or arrive out of
order, so every handler re-fetches the invoice from Stripe and acts on its current state.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django_tenants.utils import tenant_context

from invoicing import gateway, selectors
from invoicing.services import documents as document_services
from invoicing.services import payments
from invoicing.services.common import emit, mirror_invoice

logger = logging.getLogger(__name__)

INVOICE_EVENTS = ("invoice.finalized", "invoice.paid", "invoice.payment_succeeded", "invoice.payment_failed",
                  "invoice.voided", "invoice.marked_uncollectible", "invoice.updated")
CUSTOMER_EVENTS = ("customer.updated",)


def _object(event) -> dict:
    return (event.get("data") or {}).get("object") or {}


def on_invoice_event(event: dict) -> str:
    """Handle one invoice.* event; returns what was done ("ignored" when the tenant is unknown)."""
    invoice = _object(event)
    tenant = selectors.tenant_for_customer(invoice.get("customer") or "")
    if tenant is None:
        return "ignored"
    data = gateway.invoice_retrieve(invoice["id"])
    mirror_invoice(data, fresh=True)
    kind = event.get("type", "")
    with tenant_context(tenant), transaction.atomic():
        if data["status"] == "draft":
            return "draft"
        if kind == "invoice.payment_failed" and data["status"] == "open":
            payments.payment_failure_record(tenant=tenant, data=data)
            return "payment_failed"
        if data["status"] == "paid" and kind in ("invoice.paid", "invoice.payment_succeeded"):
            payments.payment_success_record(tenant=tenant, data=data)
            return "paid"
        payments.invoice_state_sync(tenant=tenant, data=data)
        if kind == "invoice.finalized":
            emit(tenant=tenant, kind="invoice_finalized", object_id=data["id"],
                 data={"invoice_number": data.get("number"), "amount_due": data.get("amount_due"),
                       "currency": data["currency"], "due_date": data.get("due_date"),
                       "hosted_invoice_url": data.get("hosted_invoice_url")})
        if kind in ("invoice.finalized", "invoice.voided", "invoice.marked_uncollectible"):
            document_services.document_request(tenant=tenant, invoice_id=data["id"])
    return kind.removeprefix("invoice.")


def on_customer_event(event: dict) -> str:
    """customer.updated with a new default card: retry the tenant's invoices in dunning at once."""
    customer = _object(event)
    previous = ((event.get("data") or {}).get("previous_attributes") or {})
    if "invoice_settings" not in previous:
        return "ignored"
    old = (previous.get("invoice_settings") or {}).get("default_payment_method")
    new = (customer.get("invoice_settings") or {}).get("default_payment_method")
    if not new or new == old:
        return "ignored"
    tenant = selectors.tenant_for_customer(customer.get("id") or "")
    if tenant is None:
        return "ignored"
    with tenant_context(tenant):
        retried = payments.dunning_card_changed(tenant=tenant)
    return f"retried {retried}"


def on_event(event: dict) -> str | None:
    """Dispatch by type; None for types this app does not handle."""
    kind = event.get("type", "")
    if kind in INVOICE_EVENTS:
        return on_invoice_event(event)
    if kind in CUSTOMER_EVENTS:
        return on_customer_event(event)
    return None
