"""Recording events: one per business fact (dedup key), one delivery per subscribed endpoint."""

from __future__ import annotations

import json
import logging
import secrets

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_tenants.utils import tenant_context

from billing_project.timestamps import iso_utc
from webhooks import catalogue, tasks
from webhooks.models import Event, WebhookDelivery, WebhookEndpoint

logger = logging.getLogger(__name__)


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def event_payload(*, tenant, event_id: str, type: str, created, obj: dict) -> dict:
    """The body every receiver gets: {"id","type","created","api_version","tenant_id","data":{"object"}}.
    Round-tripped through JSON so the stored payload is byte-for-byte what is signed and sent."""
    body = {
        "id": event_id,
        "type": type,
        "created": iso_utc(created),
        "api_version": catalogue.API_VERSION,
        "tenant_id": tenant.tenant_id,
        "data": {"object": obj},
    }
    return json.loads(json.dumps(body, cls=DjangoJSONEncoder))


def deliveries_create(*, tenant, event: Event, endpoints) -> list[int]:
    """One pending delivery of `event` per endpoint (in the caller's transaction); the endpoints are
    woken after commit. Returns the endpoints' pks."""
    now = timezone.now()
    rows = [
        WebhookDelivery(
            delivery_id=new_id("whd"), endpoint=endpoint, event=event, next_attempt_at=now
        )
        for endpoint in endpoints
    ]
    WebhookDelivery.objects.bulk_create(rows, ignore_conflicts=True)
    pks = [endpoint.pk for endpoint in endpoints]
    if pks:
        transaction.on_commit(lambda: tasks.endpoints_wake(tenant=tenant, endpoint_pks=pks))
    return pks


def emit_event(*, tenant, type: str, obj: dict, dedup_key: str) -> Event | None:
    """Record the event `type` about `obj` (what the API returns for the object) once per
    `dedup_key`, and queue it for every enabled endpoint of `tenant` that wants it.

    Call it inside the transaction of the change it tells about: the event exists iff the change does,
    and the deliveries go out after commit. A second call with the same dedup key (a Stripe retry, a
    replayed webhook, a re-run job) records nothing and returns None.
    """
    if type not in catalogue.EVENT_TYPES and type != catalogue.TEST_EVENT_TYPE:
        raise ValueError(f"unknown webhook event type {type!r}")
    with tenant_context(tenant):
        created = timezone.now()
        event_id = new_id("evt")
        try:
            with transaction.atomic():
                event = Event.objects.create(
                    event_id=event_id,
                    type=type,
                    dedup_key=dedup_key[:255],
                    created=created,
                    payload=event_payload(
                        tenant=tenant, event_id=event_id, type=type, created=created, obj=obj
                    ),
                )
        except IntegrityError:
            logger.info("webhook event %s of %s already recorded", dedup_key, tenant.slug)
            return None
        if type != catalogue.TEST_EVENT_TYPE:
            endpoints = [e for e in WebhookEndpoint.objects.filter(enabled=True) if e.wants(type)]
            deliveries_create(tenant=tenant, event=event, endpoints=endpoints)
    return event
