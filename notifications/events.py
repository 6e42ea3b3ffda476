"""The internal billing-event interface: what happened to a tenant's billing, once.

Producers (subscriptions webhooks, invoicing dunning, usage alerts) call `billing_event_emit`;
consumers (notifications: email, Slack, in-app) register with `billing_event_subscribe`. Events are
stored in the tenant's schema with a unique dedup key (kind + object + attempt or period), so a
repeated webhook or a re-run job emits nothing the second time; subscribers run after commit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import IntegrityError, transaction
from django_tenants.utils import tenant_context

logger = logging.getLogger(__name__)

KINDS = (
    "payment_failed",
    "payment_succeeded",
    "payment_retry_scheduled",
    "payment_action_required",
    "invoice_finalized",
    "invoice_overdue",
    "trial_ending",
    "usage_threshold_reached",
    "usage_limit_exceeded",
    "subscription_cancel_scheduled",
    "subscription_canceled",
    "card_expiring",
    "refund_issued",
    "credit_balance_low",
    "budget_threshold_reached",
    "webhook_endpoint_disabled",
)

_subscribers: dict[str, list[Callable]] = {}
_recorders: list[Callable] = []


def billing_event_record(handler: Callable) -> None:
    """Call `handler(tenant, event)` for every new event inside the transaction that records it (so
    what the handler writes exists iff the event does, under the same dedup). Outbound webhooks use it."""
    if handler not in _recorders:
        _recorders.append(handler)


def billing_event_subscribe(kind: str, handler: Callable) -> None:
    """Call `handler(event)` after commit for every new event of `kind` ("*" for all kinds).

    The handler runs in the event's tenant schema; it should only enqueue work (a Celery task)."""
    handlers = _subscribers.setdefault(kind, [])
    if handler not in handlers:
        handlers.append(handler)


def billing_event_emit(
    *, tenant, kind: str, object_id: str, dedup_key: str | None = None, data: dict | None = None
):
    """Record a billing event of `tenant` once. Returns the event, or None if its dedup key was seen.

    `dedup_key` defaults to `kind:object_id`; give the attempt or period in it when the same object
    can legitimately produce the event again (each failed payment attempt, each usage period).
    """
    from notifications.models import BillingEvent

    if kind not in KINDS:
        raise ValueError(f"unknown billing event kind {kind!r}")
    key = dedup_key or f"{kind}:{object_id}"
    with tenant_context(tenant):
        try:
            with transaction.atomic():
                event = BillingEvent.objects.create(
                    kind=kind, object_id=object_id, dedup_key=key, data=data or {}
                )
                for record in _recorders:
                    record(tenant, event)
        except IntegrityError:
            logger.info("billing event %s of %s already recorded", key, tenant.slug)
            return None
        transaction.on_commit(lambda: _dispatch(tenant, event))
    return event


def _dispatch(tenant, event) -> None:
    with tenant_context(tenant):
        for handler in _subscribers.get(event.kind, []) + _subscribers.get("*", []):
            try:
                handler(event)
            except Exception:  # one consumer's failure must not stop the others
                logger.exception("billing event handler %r failed for %s", handler, event.dedup_key)
