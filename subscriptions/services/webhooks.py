"""Stripe events -> the mirror and the tenants' entitlements, each event processed once by id.

Handlers never trust the order of deliveries: they re-fetch the tenant's subscriptions from Stripe
(`tenant_resync`), so whichever event arrives last, the state is Stripe's current one. Started/
processed/failed and the error are stored on the WebhookEvent row (replayable by a command).
"""

from __future__ import annotations

import json
import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from billing_project.api.exceptions import InvalidRequest
from subscriptions import gateway
from subscriptions.models import LIVE_STATUSES, BillingAccount, WebhookEvent
from subscriptions.services.common import from_ts, mirror
from subscriptions.services.state import account_apply_subscription

logger = logging.getLogger(__name__)


def webhook_receive(*, payload: bytes, signature: str) -> WebhookEvent:
    """Verify the signature (bad or stale -> 400 `invalid_signature`, nothing stored), store the
    event once by id, process it unless it already was."""
    if not settings.STRIPE_WEBHOOK_SECRET:
        raise InvalidRequest("Webhooks are not configured (STRIPE_WEBHOOK_SECRET).", code="invalid_signature")
    try:
        gateway.construct_event(payload=payload, signature=signature, secret=settings.STRIPE_WEBHOOK_SECRET)
        data = json.loads(payload)
    except ValueError as exc:
        raise InvalidRequest(f"Invalid Stripe signature: {exc}", code="invalid_signature")
    record, _ = WebhookEvent.objects.get_or_create(
        event_id=data["id"], defaults={"type": data.get("type", ""), "payload": data,
                                       "stripe_created": from_ts(data.get("created"))})
    if record.status in (WebhookEvent.Status.PROCESSED, WebhookEvent.Status.IGNORED):
        return record
    return webhook_process(event=record)


def webhook_process(*, event: WebhookEvent) -> WebhookEvent:
    """Run the event's handler once. The row lock makes concurrent deliveries of one event wait
    for the first, which then finds it processed."""
    with transaction.atomic():
        event = WebhookEvent.objects.select_for_update().get(pk=event.pk)
        if event.status in (WebhookEvent.Status.PROCESSED, WebhookEvent.Status.IGNORED):
            return event
        event.attempts += 1
        try:
            with transaction.atomic():
                handled = _dispatch(event)
            event.status = WebhookEvent.Status.PROCESSED if handled else WebhookEvent.Status.IGNORED
            event.error = ""
        except Exception as exc:  # stored, not raised: Stripe would only redeliver into the same bug
            logger.exception("stripe event %s (%s) failed", event.event_id, event.type)
            event.status, event.error = WebhookEvent.Status.FAILED, f"{type(exc).__name__}: {exc}"
        event.processed_at = timezone.now()
        event.save()
    return event


def _account_for_customer(customer_id: str | None) -> BillingAccount | None:
    if not customer_id:
        return None
    return BillingAccount.objects.select_related("tenant").filter(stripe_customer_id=customer_id).first()


def _customer_of(obj: dict) -> str | None:
    if obj.get("object") == "customer":
        return obj.get("id")
    customer = obj.get("customer")
    return customer.get("id") if isinstance(customer, dict) else customer


def tenant_resync(*, tenant, log=lambda _msg: None) -> BillingAccount | None:
    """Pull the tenant's customer, subscriptions and payment methods from Stripe into the account
    and the dj-stripe mirror: the live subscription wins, else the newest one."""
    account = BillingAccount.objects.filter(tenant=tenant).exclude(stripe_customer_id="").first()
    if account is None:
        return None
    customer = gateway.customer_retrieve(account.stripe_customer_id)
    mirror("Customer", customer, tenant=tenant)
    subscriptions = gateway.subscription_list(customer_id=account.stripe_customer_id)
    for pm in gateway.payment_method_list(customer_id=account.stripe_customer_id):
        mirror("PaymentMethod", pm)
    live = [s for s in subscriptions if s["status"] in LIVE_STATUSES]
    chosen = (live or sorted(subscriptions, key=lambda s: s["created"], reverse=True) or [None])[0]
    for subscription in subscriptions:
        mirror("Subscription", subscription)
    if chosen is not None:
        with transaction.atomic():
            account = BillingAccount.objects.select_for_update(of=("self",)).get(pk=account.pk)
            if chosen["id"] != account.subscription_id and account.subscription_id and not live:
                account.subscription_id = ""  # the newest ended one replaces an older state
            account_apply_subscription(account=account, subscription=gateway.subscription_retrieve(chosen["id"]))
    if account.test_clock_id:
        clock = gateway.test_clock_retrieve(account.test_clock_id)
        BillingAccount.objects.filter(pk=account.pk).update(clock_time=from_ts(clock.frozen_time))
    log(f"{tenant.slug}: {len(subscriptions)} subscription(s), state {chosen['status'] if chosen else 'none'}")
    return BillingAccount.objects.get(pk=account.pk)


def _emit(tenant, kind: str, object_id: str, dedup_key: str | None = None, data: dict | None = None) -> None:
    from notifications.events import billing_event_emit

    billing_event_emit(tenant=tenant, kind=kind, object_id=object_id, dedup_key=dedup_key, data=data or {})


# Other apps' reactions to Stripe events (invoicing: PDFs and dunning), registered from their
# AppConfig.ready(). Each is called with the event payload after this app has mirrored the object,
# so they read a current mirror; they run inside the same once-per-event processing.
EVENT_HANDLERS: list = []


def webhook_handler_register(handler) -> None:
    """Call `handler(payload: dict)` for every Stripe event of a known tenant, after the mirror."""
    if handler not in EVENT_HANDLERS:
        EVENT_HANDLERS.append(handler)


def _dispatch(event: WebhookEvent) -> bool:
    """True when the event concerned us (handled), False when ignored."""
    handled = _dispatch_own(event)
    if handled and event.tenant is not None:
        for handler in EVENT_HANDLERS:
            handler(event.payload)
    return handled


def _dispatch_own(event: WebhookEvent) -> bool:
    kind, obj = event.type, event.payload["data"]["object"]
    if kind.startswith("test_helpers.test_clock."):
        BillingAccount.objects.filter(test_clock_id=obj["id"]).update(clock_time=from_ts(obj.get("frozen_time")))
        return True
    account = _account_for_customer(_customer_of(obj))
    if account is None:
        return False
    tenant = account.tenant
    event.tenant = tenant
    if account.test_clock_id and event.stripe_created and \
            (account.clock_time is None or event.stripe_created > account.clock_time):
        # Objects of a test-clock customer carry the clock's time: so does the tenant's 'now'.
        BillingAccount.objects.filter(pk=account.pk).update(clock_time=event.stripe_created)
    if kind.startswith("customer.subscription."):
        tenant_resync(tenant=tenant)
        if kind == "customer.subscription.updated":
            from subscriptions.services.subscriptions import subscription_metered_item_sync

            subscription_metered_item_sync(tenant=tenant, actor="stripe webhook")
        if kind == "customer.subscription.trial_will_end":
            _emit(tenant, "trial_ending", obj["id"], f"trial_ending:{obj['id']}:{obj.get('trial_end')}",
                  {"trial_end": obj.get("trial_end")})
        elif kind == "customer.subscription.deleted":
            _emit(tenant, "subscription_canceled", obj["id"])
        elif kind == "customer.subscription.updated" and obj.get("cancel_at_period_end") and \
                "cancel_at_period_end" in (event.payload["data"].get("previous_attributes") or {}):
            _emit(tenant, "subscription_cancel_scheduled", obj["id"],
                  f"subscription_cancel_scheduled:{obj['id']}:{obj.get('cancel_at') or ''}")
        return True
    if kind.startswith(("invoice.", "invoice_payment.", "payment_intent.")):
        tenant_resync(tenant=tenant)
        if kind.startswith("invoice."):
            # Payment events (payment_failed, payment_succeeded) are announced by invoicing's handler,
            # which owns payment attempts and dunning and knows the invoice number and decline code.
            mirror("Invoice", gateway.invoice_retrieve(obj["id"]))
        return True
    if kind.startswith("payment_method."):
        if kind == "payment_method.detached":
            return True
        mirror("PaymentMethod", gateway.payment_method_retrieve(obj["id"]))
        return True
    if kind.startswith("customer."):
        mirror("Customer", gateway.customer_retrieve(account.stripe_customer_id), tenant=tenant)
        return True
    return False


def webhook_replay(*, since, event_type: str | None = None, failed_only: bool = False, log=lambda _msg: None) -> int:
    """Process again the stored events received since `since` (all, or the failed ones)."""
    events = WebhookEvent.objects.filter(received__gte=since).order_by("received")
    if event_type:
        events = events.filter(type=event_type)
    if failed_only:
        events = events.filter(status=WebhookEvent.Status.FAILED)
    count = 0
    for event in events:
        WebhookEvent.objects.filter(pk=event.pk).update(status=WebhookEvent.Status.PENDING)
        result = webhook_process(event=event)
        count += 1
        log(f"{event.event_id} {event.type}: {result.status}{' ' + result.error if result.error else ''}")
    return count
