"""Sending deliveries: Standard Webhooks signatures, Svix's retry schedule, the delivery log.

A delivery is claimed (its row locked, its next_attempt_at pushed out by a lease so no other worker
takes it while it is in flight; a worker that dies leaves it due again when the lease ends), sent
with no lock held, and recorded. pending -> delivered | retrying -> ... -> delivered | failed.
"""

from __future__ import annotations

import json
import logging
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Min, Q
from django.utils import timezone
from django_tenants.utils import tenant_context
from standardwebhooks.webhooks import Webhook

from billing_project import outbound
from webhooks import selectors
from webhooks.models import WebhookDelivery, WebhookEndpoint

logger = logging.getLogger(__name__)

# Svix's schedule: the wait before attempt n+1 after attempt n failed (the first is at once).
RETRY_SCHEDULE_SECONDS = (0, 5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600)
RESPONSE_BODY_KEPT = 1024
DUE = (WebhookDelivery.Status.PENDING, WebhookDelivery.Status.RETRYING)


def retry_delay(attempts: int) -> float | None:
    """Seconds to wait after `attempts` failed attempts (with +-20% jitter so a recovering endpoint
    is not hit by every retry at once), or None when the schedule is done."""
    if attempts >= len(RETRY_SCHEDULE_SECONDS):
        return None
    return RETRY_SCHEDULE_SECONDS[attempts] * random.uniform(0.8, 1.2)


@dataclass(frozen=True)
class Claimed:
    pk: int
    event_id: str
    body: str
    url: str
    secrets: tuple[str, ...]


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status: int | None
    body: str
    latency_ms: int
    error: str = ""
    refused: bool = False  # by the outbound URL policy: another try would be refused too


def signature_header(*, secrets, msg_id: str, timestamp: datetime, body: str) -> str:
    """`webhook-signature`: one `v1,<base64>` per live secret, space-separated (during a rotation the
    old and the new secret both sign, and a receiver holding either verifies)."""
    return " ".join(Webhook(secret).sign(msg_id, timestamp, body) for secret in secrets)


def send(*, url: str, secrets, msg_id: str, body: str) -> Outcome:
    """POST one signed message under the outbound URL policy; any 2xx is a success."""
    timestamp = datetime.now(UTC)
    headers = {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": signature_header(
            secrets=secrets, msg_id=msg_id, timestamp=timestamp, body=body
        ),
        "Content-Type": "application/json",
        "User-Agent": "billing-webhooks/1",
    }
    started = time.monotonic()
    try:
        response = outbound.post(
            url,
            body.encode(),
            headers=headers,
            timeout=settings.WEBHOOKS_TIMEOUT_SECONDS,
            max_bytes=RESPONSE_BODY_KEPT,
        )
    except outbound.OutboundError as exc:
        latency = int((time.monotonic() - started) * 1000)
        kind = (
            "refused by the outbound URL policy"
            if isinstance(exc, outbound.OutboundRefused)
            else "error"
        )
        refused = isinstance(exc, outbound.OutboundRefused)
        return Outcome(False, None, "", latency, f"{kind}: {exc}"[:2000], refused=refused)
    latency = int((time.monotonic() - started) * 1000)
    text = response.body.decode("utf-8", "replace")
    ok = 200 <= response.status < 300
    return Outcome(ok, response.status, text, latency, "" if ok else f"HTTP {response.status}")


def _claim(*, endpoint_pk: int, now: datetime, limit: int) -> list[Claimed]:
    lease = timedelta(seconds=(settings.WEBHOOKS_TIMEOUT_SECONDS + 5) * max(limit, 1) + 30)
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.filter(pk=endpoint_pk, enabled=True).first()
        if endpoint is None:
            return []
        rows = list(
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(endpoint_id=endpoint_pk, status__in=DUE, next_attempt_at__lte=now)
            .select_related("event")
            .order_by("next_attempt_at", "id")[:limit]
        )
        if not rows:
            return []
        WebhookDelivery.objects.filter(pk__in=[r.pk for r in rows]).update(
            next_attempt_at=now + lease
        )
    secrets = tuple(selectors.endpoint_secrets(endpoint, now=now))
    return [
        Claimed(
            pk=row.pk,
            event_id=row.event.event_id,
            body=json.dumps(row.event.payload, separators=(",", ":")),
            url=endpoint.url,
            secrets=secrets,
        )
        for row in rows
    ]


def _record(*, tenant, claimed: Claimed, outcome: Outcome, endpoint_pk: int, now: datetime) -> None:
    fields = {
        "attempts": F("attempts") + 1,
        "response_status": outcome.status,
        "response_body": outcome.body[:RESPONSE_BODY_KEPT],
        "latency_ms": outcome.latency_ms,
        "last_error": outcome.error,
        "updated": timezone.now(),
    }
    with transaction.atomic():
        if outcome.ok:
            WebhookDelivery.objects.filter(pk=claimed.pk).update(
                status=WebhookDelivery.Status.DELIVERED,
                delivered_at=now,
                next_attempt_at=None,
                **fields,
            )
            WebhookEndpoint.objects.filter(pk=endpoint_pk, failing_since__isnull=False).update(
                failing_since=None
            )
            return
        attempts = (
            WebhookDelivery.objects.filter(pk=claimed.pk).values_list("attempts", flat=True).first()
            or 0
        ) + 1
        wait = None if outcome.refused else retry_delay(attempts)
        WebhookDelivery.objects.filter(pk=claimed.pk).update(
            status=WebhookDelivery.Status.FAILED
            if wait is None
            else WebhookDelivery.Status.RETRYING,
            next_attempt_at=None if wait is None else now + timedelta(seconds=wait),
            **fields,
        )
        WebhookEndpoint.objects.filter(pk=endpoint_pk, failing_since__isnull=True).update(
            failing_since=now
        )
        _disable_if_failing_too_long(tenant=tenant, endpoint_pk=endpoint_pk, now=now)


def _disable_if_failing_too_long(*, tenant, endpoint_pk: int, now: datetime) -> None:
    from webhooks.services.endpoints import endpoint_disabled_notify

    limit = now - timedelta(days=settings.WEBHOOKS_DISABLE_AFTER_DAYS)
    disabled = WebhookEndpoint.objects.filter(
        pk=endpoint_pk, enabled=True, failing_since__lte=limit
    ).update(
        enabled=False,
        disabled_reason=f"every attempt failed for {settings.WEBHOOKS_DISABLE_AFTER_DAYS} days",
    )
    if disabled:
        logger.warning("webhook endpoint %s of %s disabled: failing", endpoint_pk, tenant.slug)
        endpoint = WebhookEndpoint.objects.get(pk=endpoint_pk)
        transaction.on_commit(lambda: endpoint_disabled_notify(tenant=tenant, endpoint=endpoint))


def _drain(
    *, tenant, endpoint_pk: int, now: datetime | None, deadline: float | None, batch: int
) -> int:
    """Claim, send and record the endpoint's due deliveries until none is due or the deadline has
    passed (checked before each send: what was claimed and not sent is due again at once)."""
    sent = 0
    with tenant_context(tenant):
        while deadline is None or time.monotonic() < deadline:
            moment = now or timezone.now()
            claimed = _claim(endpoint_pk=endpoint_pk, now=moment, limit=batch)
            if not claimed:
                break
            for index, item in enumerate(claimed):
                if deadline is not None and time.monotonic() >= deadline:
                    WebhookDelivery.objects.filter(pk__in=[c.pk for c in claimed[index:]]).update(
                        next_attempt_at=moment
                    )
                    return sent
                outcome = send(
                    url=item.url, secrets=item.secrets, msg_id=item.event_id, body=item.body
                )
                _record(
                    tenant=tenant,
                    claimed=item,
                    outcome=outcome,
                    endpoint_pk=endpoint_pk,
                    now=now or timezone.now(),
                )
                sent += 1
    return sent


def deliveries_flush(
    *,
    tenant,
    endpoint_pk: int,
    now: datetime | None = None,
    budget_seconds: float | None = None,
) -> int:
    """Send the due deliveries of one endpoint in this thread, one after the other, until none is
    due or `budget_seconds` have passed. `now` (tests, a test clock) decides what is due and when
    the next try is. Returns the number of attempts made. (Workers send through
    webhooks.dispatcher, which runs this for each endpoint on its own threads.)"""
    deadline = None if budget_seconds is None else time.monotonic() + budget_seconds
    return _drain(
        tenant=tenant,
        endpoint_pk=endpoint_pk,
        now=now,
        deadline=deadline,
        batch=max(1, settings.WEBHOOKS_CLAIM_BATCH),
    )


def next_due_in(*, tenant, endpoint_pk: int) -> float | None:
    """Seconds until the endpoint's next delivery is due (0 if one is due now), None if none waits."""
    with tenant_context(tenant):
        nxt = WebhookDelivery.objects.filter(
            endpoint_id=endpoint_pk, endpoint__enabled=True, status__in=DUE
        ).aggregate(at=Min("next_attempt_at"))["at"]
    if nxt is None:
        return None
    return max(0.0, (nxt - timezone.now()).total_seconds())


def endpoints_due(*, tenant) -> list[int]:
    """Endpoints with a delivery due now (for the sweep)."""
    with tenant_context(tenant):
        return list(
            WebhookDelivery.objects.filter(
                status__in=DUE, next_attempt_at__lte=timezone.now(), endpoint__enabled=True
            )
            .values_list("endpoint_id", flat=True)
            .distinct()
        )


def events_expire(*, tenant) -> int:
    """Drop events (and their deliveries) older than WEBHOOKS_EVENT_RETENTION_DAYS."""
    from webhooks.models import Event

    cutoff = timezone.now() - timedelta(days=settings.WEBHOOKS_EVENT_RETENTION_DAYS)
    with tenant_context(tenant):
        deleted, _ = (
            Event.objects.filter(created__lt=cutoff).exclude(Q(deliveries__status__in=DUE)).delete()
        )
    return deleted
