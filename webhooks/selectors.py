"""Reads of the webhooks app. Every query runs in the tenant's schema (its own tables)."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone
from django_tenants.utils import tenant_context

from notifications import crypto
from webhooks.models import Event, WebhookDelivery, WebhookEndpoint


def endpoint_list(*, tenant):
    with tenant_context(tenant):
        return list(WebhookEndpoint.objects.all())


def endpoint_queryset(*, tenant):
    """Lazy: evaluate it inside the tenant's schema (the API's pager does, per request)."""
    return WebhookEndpoint.objects.all()


def endpoint_get(*, tenant, endpoint_id: str, lock: bool = False) -> WebhookEndpoint | None:
    with tenant_context(tenant):
        queryset = WebhookEndpoint.objects.select_for_update() if lock else WebhookEndpoint.objects
        return queryset.filter(endpoint_id=endpoint_id).first()


def endpoint_secrets(endpoint: WebhookEndpoint, *, now: datetime | None = None) -> list[str]:
    """The secrets that sign now: the current one, and the previous one during its overlap."""
    now = now or timezone.now()
    secrets = [crypto.decrypt(endpoint.secret_key_id, endpoint.secret_ciphertext)]
    if (
        endpoint.previous_secret_ciphertext
        and endpoint.previous_secret_expires_at
        and endpoint.previous_secret_expires_at > now
    ):
        secrets.append(
            crypto.decrypt(endpoint.previous_secret_key_id, endpoint.previous_secret_ciphertext)
        )
    return secrets


def event_queryset(*, tenant, type: str | None = None):
    queryset = Event.objects.all()
    return queryset.filter(type=type) if type else queryset


def event_get(*, tenant, event_id: str) -> Event | None:
    with tenant_context(tenant):
        return Event.objects.filter(event_id=event_id).first()


def delivery_queryset(*, tenant, endpoint: WebhookEndpoint, status: str | None = None):
    queryset = WebhookDelivery.objects.filter(endpoint=endpoint).select_related("event")
    return queryset.filter(status=status) if status else queryset


def delivery_stats(*, tenant, endpoint: WebhookEndpoint) -> dict[str, int]:
    from django.db.models import Count

    with tenant_context(tenant):
        rows = (
            WebhookDelivery.objects.filter(endpoint=endpoint)
            .values("status")
            .annotate(n=Count("id"))
        )
        return {row["status"]: row["n"] for row in rows}
