"""The event catalogue: one event per business fact, and the object each event carries.

The object is exactly what the API returns for it (the same serializer), so a receiver that reads
`GET /api/v1/invoices/{id}` reads `data.object` of an `invoice.*` event the same way. Events come
from the billing events that drive notifications (notifications.events, the same dedup key, recorded
in the same transaction), and from producers that call `webhooks.services.emit_event` directly for
facts no notification is about (a card attached, a coupon redeemed, ...).
"""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)

API_VERSION = "2026-12-01"

# type -> what it means (shown in the OpenAPI document and the portal's event picker)
EVENT_TYPES: dict[str, str] = {
    "subscription.created": "A subscription started (object: the subscription).",
    "subscription.updated": "A subscription changed: plan, cycle, status, cancellation scheduled.",
    "subscription.canceled": "A subscription ended.",
    "subscription.trial_will_end": "A trial ends in a few days.",
    "invoice.created": "A draft invoice was created.",
    "invoice.finalized": "An invoice was finalized and is due.",
    "invoice.paid": "An invoice was paid.",
    "invoice.payment_failed": "A payment attempt of an invoice failed (once per attempt).",
    "invoice.payment_action_required": "A payment needs the customer to authenticate (3-D Secure).",
    "invoice.overdue": "An invoice is past its due date and grace period.",
    "invoice.voided": "An invoice was voided.",
    "payment_method.attached": "A card was added.",
    "payment_method.detached": "A card was removed.",
    "refund.created": "A refund was requested (or issued at once).",
    "refund.approved": "A refund was approved and issued.",
    "credit_note.created": "A credit note was issued.",
    "usage.threshold_reached": "Usage of a resource reached 80% or 100% of the plan's limit.",
    "coupon.redeemed": "A coupon was applied.",
    "budget.threshold_reached": "Spend this billing period reached 50%, 80% or 100% of the "
    "tenant's budget (once each per period).",
    "tenant.status_changed": "The tenant's account status changed (active, suspended, ...).",
}
# Sent only by "Send test event" to the one endpoint it was asked for.
TEST_EVENT_TYPE = "webhook.test"

# notifications' billing event kind -> the outbound event type (kinds not listed are not told:
# card_expiring and payment_retry_scheduled are reminders to people, not facts for systems).
KIND_TO_TYPE = {
    "payment_failed": "invoice.payment_failed",
    "payment_succeeded": "invoice.paid",
    "invoice_finalized": "invoice.finalized",
    "invoice_overdue": "invoice.overdue",
    "trial_ending": "subscription.trial_will_end",
    "usage_threshold_reached": "usage.threshold_reached",
    "usage_limit_exceeded": "usage.threshold_reached",
    "subscription_cancel_scheduled": "subscription.updated",
    "subscription_canceled": "subscription.canceled",
    "refund_issued": "credit_note.created",
    "payment_action_required": "invoice.payment_action_required",
    "budget_threshold_reached": "budget.threshold_reached",
}


def invoice_object(*, tenant, invoice_id: str) -> dict:
    """The invoice as `GET /api/v1/invoices` lists it (from the mirror and its state). Without its
    lines: reading those may call Stripe, which an event recorded in a webhook's transaction must
    not (the receiver fetches `GET /api/v1/invoices/{id}` for them)."""
    from invoicing import selectors

    row = selectors.invoice_get(tenant=tenant, invoice_id=invoice_id)
    if row is None:
        return {"invoice_id": invoice_id}
    return invoice_object_from_stripe(tenant=tenant, data=row.stripe_data)


def invoice_object_from_stripe(*, tenant, data: dict) -> dict:
    """The same object from a Stripe invoice in hand (a handler's fresh copy). The invoice's state
    is in the tenant's schema: read there (Stripe handlers run in public)."""
    from django_tenants.utils import tenant_context

    from invoicing import selectors
    from invoicing.api.serializers import InvoiceOutput

    with tenant_context(tenant):
        state = selectors.invoice_states(invoice_ids=[data["id"]]).get(data["id"])
    return dict(InvoiceOutput(selectors.invoice_view(data, state=state)).data)


def subscription_object(*, tenant, subscription_id: str = "") -> dict:
    """The subscription as `GET /api/v1/subscriptions/current` returns it."""
    from subscriptions.api.serializers import SubscriptionOutput
    from subscriptions.models import BillingAccount

    account = BillingAccount.objects.filter(tenant=tenant).first()
    if account is None or (subscription_id and account.subscription_id != subscription_id):
        return {"subscription_id": subscription_id, "status": "canceled"}
    return dict(SubscriptionOutput(account).data)


def credit_note_object(*, credit_note_id: str, tenant=None) -> dict:
    from django_tenants.utils import tenant_context

    from invoicing.api.serializers import CreditNoteOutput
    from invoicing.models import CreditNote

    if tenant is not None:
        with tenant_context(tenant):
            note = CreditNote.objects.filter(credit_note_id=credit_note_id).first()
    else:
        note = CreditNote.objects.filter(credit_note_id=credit_note_id).first()
    return dict(CreditNoteOutput(note).data) if note else {"credit_note_id": credit_note_id}


def refund_object(refund) -> dict:
    from invoicing.api.serializers import RefundOutput

    return dict(RefundOutput(refund).data)


def payment_method_object(pm: dict, *, default_id: str | None) -> dict:
    """A payment method (card, SEPA Direct Debit, PayPal) as `GET /api/v1/payment-methods` lists it."""
    from subscriptions.api.serializers import PaymentMethodOutput
    from subscriptions.services.payment_methods import payment_method_row

    return dict(PaymentMethodOutput(payment_method_row(pm, default=default_id)).data)


def usage_object(data: dict) -> dict:
    """A threshold crossing: the resource and its figures (quantities as decimal strings)."""
    return {
        "resource_type": data.get("resource_type"),
        "threshold": data.get("threshold"),
        "used": str(data.get("used")),
        "limit": None if data.get("limit") is None else str(data.get("limit")),
        "period_start": data.get("period_start"),
    }


def budget_object(data: dict) -> dict:
    """A budget threshold reached: GET /api/v1/budget's figures then (money as decimal strings)
    and the threshold."""
    from billing_project import money

    currency = data.get("currency") or "usd"

    def major(key):
        return None if data.get(key) is None else money.to_major(int(data[key]), currency)

    return {
        "threshold": data.get("threshold"),
        "amount": major("amount"),
        "currency": currency,
        "hard_cap": bool(data.get("hard_cap")),
        "spent": major("spent"),
        "projected": major("projected"),
        "period_start": data.get("period_start"),
        "period_end": data.get("period_end"),
    }


def object_for_billing_event(*, tenant, event) -> dict:
    """The object of the outbound event a billing event becomes."""
    kind, data = event.kind, event.data or {}
    if kind in ("usage_threshold_reached", "usage_limit_exceeded"):
        return usage_object(data)
    if kind == "budget_threshold_reached":
        return budget_object(data)
    if kind.startswith("payment_") or kind.startswith("invoice_"):
        return invoice_object(tenant=tenant, invoice_id=event.object_id)
    if kind.startswith("subscription_") or kind == "trial_ending":
        return subscription_object(tenant=tenant, subscription_id=event.object_id)
    if kind == "refund_issued":
        return credit_note_object(credit_note_id=data.get("credit_note") or "")
    return {"id": event.object_id, **data}


def on_billing_event(tenant, event) -> None:
    """notifications.events recorder: tell the tenant's systems, in the billing event's transaction,
    under its dedup key."""
    from webhooks.services import emit_event

    event_type = KIND_TO_TYPE.get(event.kind)
    if event_type is None:
        return
    emit_event(
        tenant=tenant,
        type=event_type,
        obj=object_for_billing_event(tenant=tenant, event=event),
        dedup_key=event.dedup_key,
    )
