"""Billing events -> notifications: the in-app entry plus one delivery per channel and recipient."""

from __future__ import annotations

import logging
import uuid

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import tenant_context

from billing_project.errors import InvalidRequest, NotFound
from notifications import selectors, tasks
from notifications.messages import message_build
from notifications.models import (
    BillingEvent,
    Channel,
    Delivery,
    Notification,
    NotificationPreference,
)
from notifications.preferences import channels_for

logger = logging.getLogger(__name__)


def _platform_wants(kind: str, data: dict) -> bool:
    # Finance watches refunds only from a size up (NOTIFICATIONS_LARGE_REFUND_AMOUNT, minor units).
    if kind == "refund_issued":
        return int(data.get("amount") or 0) >= settings.NOTIFICATIONS_LARGE_REFUND_AMOUNT
    return True


def _targets(
    *, tenant, preference: NotificationPreference, kind: str, channels: list[str], data: dict
) -> list[tuple[str, str]]:
    """(channel, recipient) pairs for a notification of `kind` on `channels`."""
    targets: list[tuple[str, str]] = []
    if Channel.EMAIL in channels:
        targets += [
            (Channel.EMAIL, address)
            for address in selectors.email_recipients(
                tenant=tenant, preference=preference, kind=kind
            )
        ]
    if Channel.SLACK in channels and preference.slack_webhook_ciphertext:
        targets.append((Channel.SLACK, "tenant"))
    platform_url, platform_kinds = selectors.platform_slack_get()
    if platform_url and kind in platform_kinds and _platform_wants(kind, data):
        targets.append((Channel.PLATFORM_SLACK, "platform"))
    return targets


def _notification_create(
    *,
    tenant,
    kind: str,
    dedup_key: str,
    data: dict,
    object_id: str,
    channels: list[str],
    event: BillingEvent | None = None,
) -> tuple[Notification, bool]:
    """Create the notification and its deliveries once per dedup key; enqueue what is unsent after
    commit. A second call with the same key (a re-run job) creates nothing and re-enqueues only
    deliveries that are still pending, which the task then finds already sent or sends once."""
    preference = selectors.preference_get(tenant=tenant)
    with tenant_context(tenant), transaction.atomic():
        message = message_build(tenant=tenant, kind=kind, data=data, object_id=object_id)
        notification, created = Notification.objects.get_or_create(
            dedup_key=dedup_key,
            defaults={
                "kind": kind,
                "title": message.title,
                "body": message.body,
                "data": data,
                "event": event,
                "in_app": Channel.IN_APP in channels,
            },
        )
        if created:
            for channel, recipient in _targets(
                tenant=tenant, preference=preference, kind=kind, channels=channels, data=data
            ):
                Delivery.objects.get_or_create(
                    dedup_key=f"{dedup_key}|{channel}|{recipient}",
                    defaults={
                        "notification": notification,
                        "kind": kind,
                        "channel": channel,
                        "recipient": recipient,
                    },
                )
        pending = list(
            notification.deliveries.filter(status=Delivery.Status.PENDING).values_list(
                "pk", flat=True
            )
        )
        transaction.on_commit(lambda: tasks.deliveries_enqueue(tenant=tenant, delivery_ids=pending))
    return notification, created


def notification_create_for_event(*, tenant, event: BillingEvent) -> Notification:
    """Turn one billing event into its notification and deliveries, per the tenant's preferences."""
    preference = selectors.preference_get(tenant=tenant)
    notification, _ = _notification_create(
        tenant=tenant,
        kind=event.kind,
        dedup_key=event.dedup_key,
        data=event.data or {},
        object_id=event.object_id,
        channels=channels_for(preference, event.kind),
        event=event,
    )
    return notification


def on_billing_event(event: BillingEvent) -> None:
    """The subscriber registered with notifications.events (runs after commit, in the tenant's schema)."""
    from django.db import connection

    notification_create_for_event(tenant=connection.tenant, event=event)  # type: ignore[attr-defined]  # django-tenants' backend adds it; django-stubs types the connection as BaseDatabaseWrapper


def notification_test_send(
    *, tenant, channels: list[str] | None = None, actor: str = "system"
) -> Notification:
    """Send a test notification on `channels` (default: email, the tenant's Slack if set, in-app)."""
    preference = selectors.preference_get(tenant=tenant)
    wanted = channels or [Channel.EMAIL, Channel.SLACK, Channel.IN_APP]
    if Channel.SLACK in wanted and channels and not preference.slack_webhook_ciphertext:
        raise InvalidRequest(
            "No Slack webhook URL is set for this tenant.",
            detail={"channels": ["Set slack_webhook_url in the preferences first."]},
        )
    logger.info("test notification of %s by %s on %s", tenant.slug, actor, wanted)
    # The platform channel is for real alerts only: a "test" kind is in no platform kind list.
    notification, _ = _notification_create(
        tenant=tenant,
        kind="test",
        dedup_key=f"test:{uuid.uuid4()}",
        data={},
        object_id="",
        channels=wanted,
    )
    return notification


def notification_mark_read(*, tenant, notification_id) -> Notification:
    """Mark one in-app entry read (idempotent: the first read time is kept)."""
    notification = selectors.notification_get(tenant=tenant, notification_id=notification_id)
    if notification is None:
        raise NotFound("Notification not found.")
    with tenant_context(tenant):
        if notification.read_at is None:
            notification.read_at = timezone.now()
            Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(
                read_at=notification.read_at
            )
    return notification
