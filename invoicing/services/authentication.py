"""Payments waiting for the customer's 3-D Secure: what the portal's "Confirm your payment" page
shows, and what it records once the customer has answered the bank.

The waiting itself is recorded by payments.payment_action_required_record (dunning waits, the
customer is told); here: the page's view of one invoice, and the invoice's state after the
customer came back (paid, or still open after a failed authentication: payable later)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import transaction

from billing_project.errors import NotFound
from billing_project.stripe_gateway import invoices as stripe_invoices
from billing_project.stripe_gateway import payment_intents as stripe_payment_intents
from billing_project.stripe_gateway.data import StripeData
from invoicing.services.common import customer_id_of, mirror_invoice
from invoicing.services.payments import invoice_state_sync, payment_success_record

if TYPE_CHECKING:
    from tenants.models import Tenant


@dataclass(frozen=True)
class PaymentAction:
    invoice_id: str
    number: str
    status: str  # "paid", "action_required" (the customer must authenticate) or "open" (not now)
    amount: int  # minor units still due
    currency: str
    payment_intent_id: str | None = None
    client_secret: str | None = None  # for Stripe.js confirmCardPayment
    hosted_invoice_url: str | None = None
    authentication_url: str | None = None  # the bank's page without Stripe.js (the emulator's)
    error_code: str | None = None  # why the last attempt did not pass (failed authentication ...)


def _owned_invoice(*, tenant: Tenant, invoice_id: str) -> StripeData:
    try:
        data: StripeData = stripe_invoices.invoice_retrieve(invoice_id, with_payments=True)
    except NotFound:
        raise NotFound("No such invoice.") from None
    if data.get("customer") != customer_id_of(tenant):
        raise NotFound("No such invoice.")  # another tenant's invoice is the same 404 as none
    return data


def invoice_payment_action_get(*, tenant: Tenant, invoice_id: str) -> PaymentAction:
    """What one of the tenant's invoices waits for, as Stripe has it now (404 for another's)."""
    data = _owned_invoice(tenant=tenant, invoice_id=invoice_id)
    base = {
        "invoice_id": data["id"],
        "number": data.get("number") or "",
        "amount": int(data.get("amount_remaining") or 0),
        "currency": data["currency"],
        "hosted_invoice_url": data.get("hosted_invoice_url"),
    }
    if data["status"] != "open":
        return PaymentAction(status=data["status"], **base)
    action = stripe_invoices.action_required_of(data)
    if action is None:
        error = stripe_invoices.last_payment_error_of(data) or {}
        return PaymentAction(status="open", error_code=error.get("decline_code"), **base)
    intent = stripe_payment_intents.payment_intent_retrieve(action.detail["payment_intent_id"])
    return PaymentAction(
        status="action_required",
        payment_intent_id=action.detail["payment_intent_id"],
        client_secret=action.detail["client_secret"],
        authentication_url=stripe_payment_intents.authentication_page_url(intent),
        **{**base, "hosted_invoice_url": action.detail["hosted_invoice_url"]},
    )


def invoice_payment_returned(*, tenant: Tenant, invoice_id: str) -> dict[str, Any]:
    """The customer is back from the bank's page: record the invoice as Stripe has it now (paid:
    the payment and its receipt, as the webhook would; still open: its state, payable later).
    Idempotent with the webhooks that report the same. Returns the invoice."""
    data = _owned_invoice(tenant=tenant, invoice_id=invoice_id)
    mirror_invoice(data, fresh=True)
    with transaction.atomic():
        if data["status"] == "paid":
            payment_success_record(tenant=tenant, data=data)
        else:
            invoice_state_sync(tenant=tenant, data=data)
    return dict(data)
