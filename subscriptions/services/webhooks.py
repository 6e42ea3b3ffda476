"""Stripe's webhook endpoint: verify, record each event once by id, dispatch it through the registry.

`webhook_receive` (POST /api/v1/webhooks/stripe) verifies the signature (bad or stale -> 400
`invalid_signature`, nothing stored) and stores the event row once by id; `webhook_process` then
claims the row in a short transaction (concurrent deliveries of one event find it claimed), and,
with no lock held, `webhook_handle` resolves the tenant, re-fetches the object from Stripe once when
a handler asks for it and runs every handler registered for the type (`@stripe_webhook` in each
app's `handlers.py`, see billing_project.stripe_gateway.webhooks); the outcome (processed / ignored /
failed, attempts, the last error) goes back on the row. `replay_webhooks` uses the same path.

Layer: the top of subscriptions/services (it dispatches to every app's handlers).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from billing_project.errors import InvalidRequest
from billing_project.stripe_gateway.webhooks import (
    StripeEvent,
    event_verify,
    handlers_for,
    object_fetch,
)
from billing_project.timestamps import from_ts
from subscriptions.models import BillingAccount, WebhookEvent
from subscriptions.services.state import account_clock_time_record

logger = logging.getLogger(__name__)

# A claim older than this belongs to a worker that died mid-way: a redelivery may take it over.
CLAIM_TIMEOUT = timedelta(minutes=5)
_DONE = (WebhookEvent.Status.PROCESSED, WebhookEvent.Status.IGNORED)


def webhook_receive(*, payload: bytes, signature: str) -> WebhookEvent:
    """Verify the signature (bad or stale -> 400 `invalid_signature`, nothing stored), store the
    event once by id, process it unless it already was."""
    if not settings.STRIPE_WEBHOOK_SECRET:
        raise InvalidRequest(
            "Webhooks are not configured (STRIPE_WEBHOOK_SECRET).", code="invalid_signature"
        )
    try:
        event_verify(payload=payload, signature=signature, secret=settings.STRIPE_WEBHOOK_SECRET)
        data = json.loads(payload)
    except ValueError as exc:
        raise InvalidRequest(f"Invalid Stripe signature: {exc}", code="invalid_signature") from exc
    record, _ = WebhookEvent.objects.get_or_create(
        event_id=data["id"],
        defaults={
            "type": data.get("type", ""),
            "payload": data,
            "stripe_created": from_ts(data.get("created")),
        },
    )
    if record.status in _DONE:
        return record
    return webhook_process(event=record)


def _claim(event: WebhookEvent) -> WebhookEvent | None:
    """Take the event for processing (one attempt more), or None when it is done or another worker
    is on it. The row lock lasts only for this check: Stripe is never called while it is held."""
    with transaction.atomic():
        event = WebhookEvent.objects.select_for_update().get(pk=event.pk)
        now = timezone.now()
        if event.status in _DONE or (
            event.status == WebhookEvent.Status.PROCESSING
            and event.started_at
            and now - event.started_at < CLAIM_TIMEOUT
        ):
            return None
        event.status, event.started_at = WebhookEvent.Status.PROCESSING, now
        event.attempts += 1
        event.save(update_fields=["status", "started_at", "attempts"])
    return event


def webhook_process(*, event: WebhookEvent) -> WebhookEvent:
    """Run the event's handlers once (see the module docstring); failures are stored, not raised."""
    claimed = _claim(event)
    if claimed is None:
        return WebhookEvent.objects.get(pk=event.pk)
    tenant = claimed.tenant
    try:
        handled = webhook_handle(payload=claimed.payload)
        status = WebhookEvent.Status.PROCESSED if handled else WebhookEvent.Status.IGNORED
        error, tenant = "", (handled.tenant if handled else tenant)
    except Exception as exc:  # stored, not raised: Stripe would only redeliver into the same bug
        logger.exception("stripe event %s (%s) failed", claimed.event_id, claimed.type)
        status, error = WebhookEvent.Status.FAILED, f"{type(exc).__name__}: {exc}"
    WebhookEvent.objects.filter(pk=claimed.pk).update(
        status=status, error=error, tenant=tenant, processed_at=timezone.now()
    )
    return WebhookEvent.objects.get(pk=claimed.pk)


def _account_of(obj: dict[str, Any]) -> BillingAccount | None:
    """The billing account an event's object belongs to: by its customer, or by its test clock."""
    accounts = BillingAccount.objects.select_related("tenant")
    if obj.get("object") == "test_helpers.test_clock":
        return accounts.filter(test_clock_id=obj.get("id") or "-").first()
    customer = obj.get("id") if obj.get("object") == "customer" else obj.get("customer")
    customer = customer.get("id") if isinstance(customer, dict) else customer
    return accounts.filter(stripe_customer_id=customer).first() if customer else None


def webhook_handle(*, payload: dict[str, Any], apps: set[str] | None = None) -> StripeEvent | None:
    """Hand one event to the handlers registered for its type (only those of `apps` when given):
    None when it is not ours (unknown customer, or no handler for the type)."""
    obj = (payload.get("data") or {}).get("object") or {}
    account = _account_of(obj)
    if account is None:
        return None
    created = from_ts(payload.get("created"))
    if (
        account.test_clock_id
        and created
        and (account.clock_time is None or created > account.clock_time)
    ):
        # Objects of a test-clock customer carry the clock's time: so does the tenant's 'now'.
        account_clock_time_record(BillingAccount.objects.filter(pk=account.pk), created)
        account.clock_time = created
    handlers = handlers_for(payload.get("type", ""), apps=apps)
    if not handlers:
        return None
    fresh = object_fetch(obj) if any(h.fresh for h in handlers) else obj
    event = StripeEvent(
        id=payload.get("id", ""),
        type=payload.get("type", ""),
        payload=payload,
        object=fresh,
        tenant=account.tenant,
        account=account,
    )
    for handler in handlers:
        event.results[handler.name] = handler.func(event)
    return event


def webhook_replay(
    *,
    since: datetime,
    event_type: str | None = None,
    failed_only: bool = False,
    log: Callable[[str], object] = lambda _msg: None,
) -> int:
    """Process again the stored events received since `since` (all, or the failed ones)."""
    events = WebhookEvent.objects.filter(received__gte=since).order_by("received")
    if event_type:
        events = events.filter(type=event_type)
    if failed_only:
        events = events.filter(status=WebhookEvent.Status.FAILED)
    count = 0
    for event in events:
        WebhookEvent.objects.filter(pk=event.pk).update(
            status=WebhookEvent.Status.PENDING, started_at=None
        )
        result = webhook_process(event=event)
        count += 1
        log(
            f"{event.event_id} {event.type}: {result.status}{' ' + result.error if result.error else ''}"
        )
    return count
