"""Sending one delivery, once: the delivery log's state machine.

pending -> sent | retrying (attempts < NOTIFICATIONS_MAX_ATTEMPTS) -> ... -> sent | failed.
The delivery row is locked while its message goes out, so two workers running the same task (a
redelivered Celery message, the retry sweep racing a countdown) cannot both send it; a sent or
failed row is never sent again except by an explicit resend.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django_tenants.utils import tenant_context

from billing_project.errors import NotFound
from notifications import crypto, gateway, selectors, tasks
from notifications.messages import Message, message_build, message_invoice_id, slack_payload
from notifications.metrics import notification_outcome_count
from notifications.models import Channel, Delivery
from notifications.preferences import BILLING_CONTACT_KINDS

logger = logging.getLogger(__name__)


def _email_render(*, tenant, message: Message) -> tuple[str, str, str]:
    """(subject, text, html) of the branded email."""
    context = {"tenant": tenant, "message": message, "brand_color": tenant.brand_color or "#4f46e5"}
    with translation.override(message.locale):
        text = render_to_string("notifications/email/notification.txt", context)
        html = render_to_string("notifications/email/notification.html", context)
    return f"{message.title} · {tenant.name}", text, html


def _invoice_attachments(
    tenant, delivery: Delivery, object_id: str
) -> list[tuple[str, bytes, str]]:
    """The invoice's PDF for a billing contact's invoice email (invoice ready, receipt, refund):
    they cannot sign in to download it. A PDF that cannot be made yet fails this try (retried)."""
    if delivery.kind not in BILLING_CONTACT_KINDS:
        return []
    invoice_id = message_invoice_id(delivery.kind, delivery.notification.data or {}, object_id)
    if not invoice_id:
        return []
    from invoicing.services.documents import document_pdf_get  # the invoicing app's service

    try:
        pdf = document_pdf_get(tenant=tenant, invoice_id=invoice_id)
    except Exception as exc:  # a render or storage failure: the delivery's retry tries again
        raise gateway.DeliveryError(f"invoice PDF not available: {exc!r}") from exc
    if pdf is None:  # an invoice the service does not know: the link says the rest
        logger.warning("no PDF of unknown invoice %s to attach", invoice_id)
        return []
    return [(pdf[0], pdf[1], "application/pdf")]


def _send(*, tenant, delivery: Delivery) -> None:
    notification = delivery.notification
    # The platform channel is read by the platform's finance staff: always the platform language.
    locale = settings.LANGUAGE_CODE if delivery.channel == Channel.PLATFORM_SLACK else None
    object_id = notification.event.object_id if notification.event is not None else ""
    member = delivery.channel != Channel.EMAIL or selectors.recipient_is_member(
        tenant=tenant, address=delivery.recipient
    )
    message = message_build(
        tenant=tenant,
        kind=delivery.kind,
        data=notification.data,
        object_id=object_id,
        locale=locale,
        member=member,
    )
    if delivery.channel == Channel.EMAIL:
        subject, text, html = _email_render(tenant=tenant, message=message)
        gateway.email_send(
            to=delivery.recipient,
            subject=subject,
            text=text,
            html=html,
            reply_to=tenant.email or None,
            attachments=[] if member else _invoice_attachments(tenant, delivery, object_id),
        )
    elif delivery.channel == Channel.SLACK:
        url = selectors.preference_slack_url(selectors.preference_get(tenant=tenant))
        if not url:
            raise gateway.DeliveryError("the tenant has no Slack webhook URL any more")
        gateway.slack_post(url=url, payload=slack_payload(message, tenant=tenant))
    elif delivery.channel == Channel.PLATFORM_SLACK:
        url, _ = selectors.platform_slack_get()
        if not url:
            raise gateway.DeliveryError("the platform Slack channel is not configured")
        gateway.slack_post(url=url, payload=slack_payload(message, tenant=tenant, platform=True))
    else:
        raise gateway.DeliveryError(f"unknown channel {delivery.channel}")


def backoff_seconds(attempts: int) -> int:
    return settings.NOTIFICATIONS_RETRY_BACKOFF_SECONDS * 2 ** max(attempts - 1, 0)


def delivery_attempt(*, tenant, delivery_id: int) -> int | None:
    """Try to send one delivery. Returns the seconds to wait before the next try, or None when
    there is nothing more to do (sent, failed for good, already handled, or being sent elsewhere)."""
    with tenant_context(tenant), transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("notification", "notification__event")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None or delivery.status in (Delivery.Status.SENT, Delivery.Status.FAILED):
            return None
        delivery.attempts += 1
        retry_in = None
        try:
            _send(tenant=tenant, delivery=delivery)
        except (gateway.DeliveryError, crypto.DecryptionError) as exc:
            final = delivery.attempts >= settings.NOTIFICATIONS_MAX_ATTEMPTS or isinstance(
                exc, (crypto.DecryptionError, gateway.DeliveryRefused)
            )
            delivery.last_error = str(exc)[:2000]
            if final:
                delivery.status, delivery.next_attempt_at = Delivery.Status.FAILED, None
                logger.error(
                    "notification %s gave up after %s attempts: %s",
                    delivery.dedup_key,
                    delivery.attempts,
                    exc,
                )
            else:
                retry_in = backoff_seconds(delivery.attempts)
                delivery.status = Delivery.Status.RETRYING
                delivery.next_attempt_at = timezone.now() + timedelta(seconds=retry_in)
                logger.warning(
                    "notification %s attempt %s failed, retry in %ss: %s",
                    delivery.dedup_key,
                    delivery.attempts,
                    retry_in,
                    exc,
                )
        else:
            delivery.status, delivery.sent_at, delivery.next_attempt_at = (
                Delivery.Status.SENT,
                timezone.now(),
                None,
            )
        delivery.save(
            update_fields=[
                "attempts",
                "status",
                "last_error",
                "next_attempt_at",
                "sent_at",
                "updated",
            ]
        )
        status, channel, kind = delivery.status, delivery.channel, delivery.kind
        transaction.on_commit(
            lambda: notification_outcome_count(channel=channel, kind=kind, status=status)
        )
    return retry_in


def delivery_resend(*, tenant, delivery_id: int, actor: str) -> Delivery:
    """Send a delivery again on staff's say-so (after fixing an address or a Slack URL): the one way a
    sent or failed delivery goes out again. Audited."""
    from tenants.services.audit import audit_record

    with tenant_context(tenant), transaction.atomic():
        delivery = Delivery.objects.select_for_update().filter(pk=delivery_id).first()
        if delivery is None:
            raise NotFound("Delivery not found.")
        before = {"status": delivery.status, "attempts": delivery.attempts}
        delivery.status, delivery.attempts, delivery.next_attempt_at = (
            Delivery.Status.PENDING,
            0,
            None,
        )
        delivery.save(update_fields=["status", "attempts", "next_attempt_at", "updated"])
        audit_record(
            actor=actor,
            action="notification.resend",
            tenant=tenant,
            target=delivery.dedup_key,
            before=before,
            after={"status": delivery.status},
        )
        transaction.on_commit(
            lambda: tasks.deliveries_enqueue(tenant=tenant, delivery_ids=[delivery.pk])
        )
    return delivery


def deliveries_retry_due(*, tenant) -> int:
    """Re-enqueue deliveries whose retry is due or that never got a task (a worker died, the broker
    lost the message). Safe to run any time: the task sends each delivery at most once."""

    now = timezone.now()
    stale = now - timedelta(minutes=5)
    with tenant_context(tenant):
        # A minute of slack: the Celery countdown of a retry normally fires first.
        ids = list(
            Delivery.objects.filter(
                status=Delivery.Status.RETRYING, next_attempt_at__lte=now - timedelta(minutes=1)
            ).values_list("pk", flat=True)
        )
        ids += list(
            Delivery.objects.filter(status=Delivery.Status.PENDING, created__lte=stale).values_list(
                "pk", flat=True
            )
        )
    tasks.deliveries_enqueue(tenant=tenant, delivery_ids=ids)
    return len(ids)
