"""The analytics facts follow the Stripe events (registry: billing_project.stripe_gateway.webhooks).

Registered after subscriptions' and invoicing's handlers (INSTALLED_APPS order): a subscription
event is measured on the state the subscriptions handler has just pulled from Stripe; an invoice
event reads the invoice the endpoint re-fetched once for every handler (`fresh=True`, no extra call).
The event's `created` is the tenant's time (its test clock's), so the facts are dated by it.
"""

from __future__ import annotations

from analytics import revenue, services
from billing_project.stripe_gateway.webhooks import StripeEvent, stripe_webhook
from billing_project.timestamps import from_ts
from invoicing.handlers import INVOICE_EVENTS
from subscriptions.handlers import SUBSCRIPTION_EVENTS
from subscriptions.selectors import tenant_now


def _at(event: StripeEvent):
    return from_ts(event.payload.get("created")) or tenant_now(account=event.account)


@stripe_webhook(*SUBSCRIPTION_EVENTS)
def subscription_movement(event: StripeEvent) -> int:
    """Record the MRR movement (or status change) the event brought; returns the rows written."""
    return len(
        services.subscription_fact_record(tenant=event.tenant, at=_at(event), source=event.id)
    )


@stripe_webhook(*INVOICE_EVENTS, fresh=True)
def invoice_fact(event: StripeEvent) -> str:
    fact = services.invoice_fact_record(
        tenant=event.tenant, invoice=event.object, event_type=event.type, at=_at(event)
    )
    revenue.schedules_record(tenant=event.tenant, invoice=event.object)
    return fact.status if fact else "draft"


@stripe_webhook("credit_note.created", "credit_note.updated", "credit_note.voided")
def credit_note_fact(event: StripeEvent) -> str:
    fact = services.refund_fact_record(tenant=event.tenant, credit_note=event.payload_object)
    revenue.reversal_record(credit_note=event.payload_object)
    return "recorded" if fact else "void"
