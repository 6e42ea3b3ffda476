"""The subscriptions app's reactions to Stripe events, registered by event type (the registry and
the endpoint: billing_project.stripe_gateway.webhooks, subscriptions.services.webhooks).

Deliveries may be stale or out of order: a subscription event pulls the tenant's whole state from
Stripe (`tenant_resync`), so whichever arrives last leaves Stripe's current state; the mirror of a
customer or card is taken from the object the endpoint re-fetched. Invoices belong to invoicing.
"""

from __future__ import annotations

from billing_project.stripe_gateway.customers import customer_retrieve
from billing_project.stripe_gateway.webhooks import StripeEvent, stripe_webhook
from billing_project.timestamps import from_ts
from subscriptions.models import BillingAccount
from subscriptions.services.common import mirror
from subscriptions.services.state import account_clock_time_record

TEST_CLOCK_EVENTS = (
    "test_helpers.test_clock.created",
    "test_helpers.test_clock.advancing",
    "test_helpers.test_clock.ready",
    "test_helpers.test_clock.internal_failure",
)
SUBSCRIPTION_EVENTS = (
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "customer.subscription.trial_will_end",
    "customer.subscription.paused",
    "customer.subscription.resumed",
    "customer.subscription.pending_update_applied",
    "customer.subscription.pending_update_expired",
)
PAYMENT_METHOD_EVENTS = (
    "payment_method.attached",
    "payment_method.updated",
    "payment_method.automatically_updated",
)
CUSTOMER_EVENTS = (
    "customer.created",
    "customer.updated",
    "customer.deleted",
    "customer.discount.created",
    "customer.discount.updated",
    "customer.discount.deleted",
)


def _emit(
    tenant, kind: str, object_id: str, dedup_key: str | None = None, data: dict | None = None
) -> None:
    from notifications.events import billing_event_emit

    billing_event_emit(
        tenant=tenant, kind=kind, object_id=object_id, dedup_key=dedup_key, data=data or {}
    )


@stripe_webhook(*TEST_CLOCK_EVENTS)
def test_clock_moved(event: StripeEvent) -> None:
    """The tenant's 'now' follows its test clock."""
    clock = event.payload_object
    account_clock_time_record(
        BillingAccount.objects.filter(test_clock_id=clock["id"]), from_ts(clock.get("frozen_time"))
    )


@stripe_webhook(*SUBSCRIPTION_EVENTS)
def subscription_changed(event: StripeEvent) -> None:
    """Pull the tenant's state from Stripe (the live subscription wins, whatever the order), keep the
    overage item on the current plan, and announce trial ends and cancellations."""
    from subscriptions.services.subscriptions import subscription_metered_item_sync
    from subscriptions.services.sync import tenant_resync

    tenant, obj = event.tenant, event.payload_object
    tenant_resync(tenant=tenant)
    if event.type == "customer.subscription.updated":
        subscription_metered_item_sync(tenant=tenant, actor="stripe webhook")
    if event.type == "customer.subscription.trial_will_end":
        _emit(
            tenant,
            "trial_ending",
            obj["id"],
            f"trial_ending:{obj['id']}:{obj.get('trial_end')}",
            {"trial_end": obj.get("trial_end")},
        )
    elif event.type == "customer.subscription.deleted":
        _emit(tenant, "subscription_canceled", obj["id"])
    elif (
        event.type == "customer.subscription.updated"
        and obj.get("cancel_at_period_end")
        and "cancel_at_period_end" in event.previous_attributes
    ):
        _emit(
            tenant,
            "subscription_cancel_scheduled",
            obj["id"],
            f"subscription_cancel_scheduled:{obj['id']}:{obj.get('cancel_at') or ''}",
        )


@stripe_webhook(*PAYMENT_METHOD_EVENTS, fresh=True)
def payment_method_changed(event: StripeEvent) -> None:
    mirror("PaymentMethod", event.object)


@stripe_webhook("setup_intent.succeeded", fresh=True)
def setup_intent_succeeded(event: StripeEvent) -> str:
    """A PayPal account approved: it is the tenant's, and its default when asked at the start or
    when the tenant has none, even if the payer never comes back to the return page (an API client
    has none of ours)."""
    setup_intent = event.object
    if event.tenant is None or "paypal" not in (setup_intent.get("payment_method_types") or []):
        return "ignored"
    from subscriptions.services.bank_methods import paypal_setup_finish

    paypal_setup_finish(tenant=event.tenant, setup_intent_id=setup_intent["id"])
    return "paypal_saved"


@stripe_webhook("payment_method.detached")
def payment_method_detached(event: StripeEvent) -> None:
    """Nothing to do (the card list is read from Stripe), but the event is ours: processed."""


@stripe_webhook(*CUSTOMER_EVENTS, fresh=True)
def customer_changed(event: StripeEvent) -> None:
    # A discount event's object is the discount: its customer is read once more.
    customer = (
        event.object
        if event.object.get("object") == "customer"
        else customer_retrieve(event.account.stripe_customer_id)
    )
    mirror("Customer", customer, tenant=event.tenant)
