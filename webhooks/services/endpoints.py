"""The tenant's webhook endpoints: create, change, delete, rotate the secret, test, replay."""

from __future__ import annotations

import base64
import logging
import secrets
from datetime import datetime, timedelta
from typing import cast

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import tenant_context

from billing_project import outbound
from billing_project.errors import InvalidRequest, NotFound
from notifications import crypto
from webhooks import catalogue, selectors, tasks
from webhooks.models import Event, WebhookDelivery, WebhookEndpoint
from webhooks.services.events import deliveries_create, emit_event, new_id

logger = logging.getLogger(__name__)


def secret_generate() -> str:
    """`whsec_` + base64 of 24 random bytes (Standard Webhooks: 24 to 64 bytes)."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def _url_checked(url: str) -> str:
    try:
        outbound.url_check(url)
    except outbound.OutboundRefused as exc:
        raise InvalidRequest(f"The URL {exc}.", detail={"url": [f"The URL {exc}."]}) from None
    return url


def _events_checked(events: list[str]) -> list[str]:
    unknown = [e for e in events if e != "*" and e not in catalogue.EVENT_TYPES]
    if unknown or not events:
        message = (
            f"Unknown event types: {', '.join(unknown)}."
            if unknown
            else "Give at least one event type."
        )
        raise InvalidRequest(message, detail={"enabled_events": [message]})
    return ["*"] if "*" in events else sorted(set(events))


def _audit(*, tenant, actor: str, action: str, endpoint: WebhookEndpoint, before=None, after=None):
    from tenants.services.audit import audit_record

    audit_record(
        actor=actor,
        action=action,
        tenant=tenant,
        target=endpoint.endpoint_id,
        before=before,
        after=after,
    )


def _snapshot(endpoint: WebhookEndpoint) -> dict:
    return {
        "url": endpoint.url,
        "description": endpoint.description,
        "enabled_events": endpoint.enabled_events,
        "enabled": endpoint.enabled,
    }


def endpoint_create(
    *,
    tenant,
    actor: str,
    url: str,
    description: str = "",
    enabled_events: list[str] | None = None,
    enabled: bool = True,
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its signing secret (returned in full only here and on rotation)."""
    secret = secret_generate()
    key_id, ciphertext = crypto.encrypt(secret)
    with tenant_context(tenant), transaction.atomic():
        if WebhookEndpoint.objects.count() >= settings.WEBHOOKS_MAX_ENDPOINTS:
            raise InvalidRequest(
                f"A tenant has at most {settings.WEBHOOKS_MAX_ENDPOINTS} webhook endpoints."
            )
        endpoint = WebhookEndpoint.objects.create(
            endpoint_id=new_id("we"),
            url=_url_checked(url),
            description=description,
            enabled_events=_events_checked(enabled_events or ["*"]),
            enabled=enabled,
            secret_key_id=key_id,
            secret_ciphertext=ciphertext,
        )
        _audit(
            tenant=tenant,
            actor=actor,
            action="webhook_endpoint.create",
            endpoint=endpoint,
            after=_snapshot(endpoint),
        )
    return endpoint, secret


def _endpoint(tenant, endpoint_id: str, *, lock: bool = False) -> WebhookEndpoint:
    endpoint = selectors.endpoint_get(tenant=tenant, endpoint_id=endpoint_id, lock=lock)
    if endpoint is None:
        raise NotFound("No such webhook endpoint.")
    return endpoint


def endpoint_update(*, tenant, actor: str, endpoint_id: str, **changes) -> WebhookEndpoint:
    """Change url, description, enabled_events or enabled (fields not given keep their value).
    Enabling a disabled endpoint starts its failure count afresh."""
    with tenant_context(tenant), transaction.atomic():
        endpoint = _endpoint(tenant, endpoint_id, lock=True)
        before = _snapshot(endpoint)
        if "url" in changes:
            endpoint.url = _url_checked(changes["url"])
        if "description" in changes:
            endpoint.description = changes["description"]
        if "enabled_events" in changes:
            endpoint.enabled_events = _events_checked(changes["enabled_events"])
        if "enabled" in changes:
            if changes["enabled"] and not endpoint.enabled:
                endpoint.failing_since, endpoint.disabled_reason = None, ""
            endpoint.enabled = changes["enabled"]
        endpoint.save()
        _audit(
            tenant=tenant,
            actor=actor,
            action="webhook_endpoint.update",
            endpoint=endpoint,
            before=before,
            after=_snapshot(endpoint),
        )
        if endpoint.enabled and not before["enabled"]:
            pk = endpoint.pk
            transaction.on_commit(lambda: tasks.endpoints_wake(tenant=tenant, endpoint_pks=[pk]))
    return endpoint


def endpoint_delete(*, tenant, actor: str, endpoint_id: str) -> None:
    """Delete the endpoint and its delivery log (the events stay in the tenant's event log)."""
    with tenant_context(tenant), transaction.atomic():
        endpoint = _endpoint(tenant, endpoint_id, lock=True)
        _audit(
            tenant=tenant,
            actor=actor,
            action="webhook_endpoint.delete",
            endpoint=endpoint,
            before=_snapshot(endpoint),
        )
        endpoint.delete()


def endpoint_rotate_secret(
    *, tenant, actor: str, endpoint_id: str, now: datetime | None = None
) -> tuple[WebhookEndpoint, str]:
    """A new secret; the old one keeps signing beside it for WEBHOOKS_SECRET_OVERLAP_HOURS, so
    receivers can switch without losing a message."""
    secret = secret_generate()
    key_id, ciphertext = crypto.encrypt(secret)
    now = now or timezone.now()
    with tenant_context(tenant), transaction.atomic():
        endpoint = _endpoint(tenant, endpoint_id, lock=True)
        endpoint.previous_secret_key_id = endpoint.secret_key_id
        endpoint.previous_secret_ciphertext = endpoint.secret_ciphertext
        endpoint.previous_secret_expires_at = now + timedelta(
            hours=settings.WEBHOOKS_SECRET_OVERLAP_HOURS
        )
        endpoint.secret_key_id, endpoint.secret_ciphertext = key_id, ciphertext
        endpoint.save()
        _audit(
            tenant=tenant,
            actor=actor,
            action="webhook_endpoint.rotate_secret",
            endpoint=endpoint,
            after={"previous_secret_expires_at": endpoint.previous_secret_expires_at.isoformat()},
        )
    return endpoint, secret


def endpoint_send_test(*, tenant, actor: str, endpoint_id: str) -> WebhookDelivery:
    """A `webhook.test` event to this endpoint only, whatever event types it is subscribed to (a
    disabled endpoint gets it once it is enabled again)."""
    with tenant_context(tenant), transaction.atomic():
        endpoint = _endpoint(tenant, endpoint_id)
        event = emit_event(
            tenant=tenant,
            type=catalogue.TEST_EVENT_TYPE,
            obj={"webhook_endpoint_id": endpoint.endpoint_id, "message": "This is a test event."},
            dedup_key=f"webhook.test:{new_id('t')}",
        )
        # A fresh dedup key: the event is recorded (emit_event's None is a repeated key's).
        deliveries_create(tenant=tenant, event=cast(Event, event), endpoints=[endpoint])
        if not endpoint.enabled:
            logger.info("test event to disabled endpoint %s by %s", endpoint.endpoint_id, actor)
        # With its event and endpoint loaded: callers read them outside the tenant's schema too.
        return WebhookDelivery.objects.select_related("event", "endpoint").get(
            endpoint=endpoint, event=event
        )


def _requeue(tenant, deliveries) -> None:
    now = timezone.now()
    pks = [d.pk for d in deliveries]
    WebhookDelivery.objects.filter(pk__in=pks).update(
        status=WebhookDelivery.Status.PENDING, next_attempt_at=now, updated=now
    )
    endpoints = sorted({d.endpoint_id for d in deliveries})
    transaction.on_commit(lambda: tasks.endpoints_wake(tenant=tenant, endpoint_pks=endpoints))


def delivery_retry(*, tenant, actor: str, endpoint_id: str, delivery_id: str) -> WebhookDelivery:
    """Send one delivery again now (whatever its state: a receiver that lost it may ask)."""
    with tenant_context(tenant), transaction.atomic():
        endpoint = _endpoint(tenant, endpoint_id)
        delivery = (
            WebhookDelivery.objects.select_for_update()
            .filter(endpoint=endpoint, delivery_id=delivery_id)
            .first()
        )
        if delivery is None:
            raise NotFound("No such delivery.")
        _requeue(tenant, [delivery])
        _audit(
            tenant=tenant,
            actor=actor,
            action="webhook_delivery.retry",
            endpoint=endpoint,
            after={"delivery_id": delivery_id},
        )
        delivery = WebhookDelivery.objects.select_related("event", "endpoint").get(pk=delivery.pk)
    return delivery


def deliveries_replay(*, tenant, actor: str, endpoint_id: str, since: datetime) -> int:
    """Send again every failed delivery of the endpoint whose event is from `since` on."""
    with tenant_context(tenant), transaction.atomic():
        endpoint = _endpoint(tenant, endpoint_id)
        deliveries = list(
            WebhookDelivery.objects.select_for_update().filter(
                endpoint=endpoint,
                status=WebhookDelivery.Status.FAILED,
                event__created__gte=since,
            )
        )
        _requeue(tenant, deliveries)
        _audit(
            tenant=tenant,
            actor=actor,
            action="webhook_endpoint.replay",
            endpoint=endpoint,
            after={"since": since.isoformat(), "deliveries": len(deliveries)},
        )
    return len(deliveries)


def endpoint_disabled_notify(*, tenant, endpoint: WebhookEndpoint) -> None:
    """Tell the tenant's people (email + in-app, through the notifications app) that an endpoint was
    disabled after failing for days."""
    from notifications.events import billing_event_emit

    billing_event_emit(
        tenant=tenant,
        kind="webhook_endpoint_disabled",
        object_id=endpoint.endpoint_id,
        dedup_key=f"webhook_endpoint_disabled:{endpoint.endpoint_id}:{endpoint.updated.isoformat()}",
        data={"url": endpoint.url, "days": settings.WEBHOOKS_DISABLE_AFTER_DAYS},
    )
