"""Outbound events for Stripe facts no notification is about, registered with the Stripe webhook
registry (billing_project.stripe_gateway.webhooks). They run after the subscriptions and invoicing
handlers of the same event (this app is installed after them), so the mirror and the local state the
event's object is read from are already current. Dedup keys name the object, or the Stripe event
when one object can change many times: a Stripe retry or a replayed webhook emits nothing new."""

from __future__ import annotations

from billing_project.stripe_gateway.webhooks import StripeEvent, stripe_webhook


@stripe_webhook("customer.subscription.created", "customer.subscription.updated")
def subscription_announced(event: StripeEvent) -> str:
    from webhooks import catalogue
    from webhooks.services import emit_event

    obj = event.payload_object
    if event.type == "customer.subscription.created":
        event_type, key = "subscription.created", f"subscription.created:{obj['id']}"
    else:
        # A scheduled cancellation is told by the billing event of notifications (same fact, once).
        if obj.get("cancel_at_period_end") and "cancel_at_period_end" in event.previous_attributes:
            return "cancellation: told by its billing event"
        event_type, key = "subscription.updated", f"subscription.updated:{event.id}"
    emitted = emit_event(
        tenant=event.tenant,
        type=event_type,
        obj=catalogue.subscription_object(tenant=event.tenant, subscription_id=obj["id"]),
        dedup_key=key,
    )
    return event_type if emitted else "already told"


@stripe_webhook("invoice.created", "invoice.voided", fresh=True)
def invoice_announced(event: StripeEvent) -> str:
    from webhooks import catalogue
    from webhooks.services import emit_event

    event_type = event.type  # the same names in both catalogues
    emitted = emit_event(
        tenant=event.tenant,
        type=event_type,
        obj=catalogue.invoice_object_from_stripe(tenant=event.tenant, data=event.object),
        dedup_key=f"{event_type}:{event.object['id']}",
    )
    return event_type if emitted else "already told"


@stripe_webhook("payment_method.attached", fresh=True)
def payment_method_announced(event: StripeEvent) -> str:
    from webhooks import catalogue
    from webhooks.services import emit_event

    emitted = emit_event(
        tenant=event.tenant,
        type="payment_method.attached",
        obj=catalogue.payment_method_object(event.object, default_id=None),
        dedup_key=f"payment_method.attached:{event.object['id']}",
    )
    return "payment_method.attached" if emitted else "already told"
