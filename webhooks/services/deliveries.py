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
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Min, Q
from django.utils import timezone
from django_tenants.utils import tenant_context
from standardwebhooks.webhooks import Webhook

from billing_project import outbound
from webhooks import selectors
from webhooks.models import Event, WebhookDelivery, WebhookEndpoint

logger = logging.getLogger(__name__)

# Svix's schedule: the wait before attempt n+1 after attempt n failed (the first is at once).
RETRY_SCHEDULE_SECONDS = (0, 5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600)
RESPONSE_BODY_KEPT = 1024
DUE = (WebhookDelivery.Status.PENDING, WebhookDelivery.Status.RETRYING)
# Outcomes of a batch wait at most this long to be written (a slow endpoint's log stays current).
RECORD_EVERY_SECONDS = 1.0


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
    attempts: int = 0  # made before this one


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
    """POST one signed message under the outbound URL policy; any 2xx is a success. The connection
    to the endpoint is kept alive for its next message (made by the policy's checked connect step)."""
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
            keep_alive=True,
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


def _tables() -> dict[str, str]:
    return {
        "delivery": WebhookDelivery._meta.db_table,
        "endpoint": WebhookEndpoint._meta.db_table,
        "event": Event._meta.db_table,
    }


# One statement, one round trip per batch: lock up to `limit` due deliveries of an enabled endpoint
# (skipping rows another drain holds), push their next_attempt_at out by the lease, and return them
# with their event's payload and the endpoint's URL and secrets as they are now.
_CLAIM_SQL = """
WITH ep AS (
    SELECT id, url, secret_key_id, secret_ciphertext, previous_secret_key_id,
           previous_secret_ciphertext, previous_secret_expires_at
    FROM {endpoint} WHERE id = %(endpoint)s AND enabled
), due AS (
    SELECT d.id, d.next_attempt_at FROM {delivery} d
    WHERE d.endpoint_id IN (SELECT id FROM ep) AND d.status IN ('pending', 'retrying')
      AND d.next_attempt_at <= %(now)s
    ORDER BY d.next_attempt_at, d.id
    LIMIT %(limit)s
    FOR UPDATE OF d SKIP LOCKED
), claimed AS (
    UPDATE {delivery} d SET next_attempt_at = %(lease)s FROM due WHERE d.id = due.id
    RETURNING d.id, d.event_id, d.attempts, due.next_attempt_at AS due_at
)
SELECT c.id, c.attempts, ev.event_id, ev.payload, ep.url, ep.secret_key_id, ep.secret_ciphertext,
       ep.previous_secret_key_id, ep.previous_secret_ciphertext, ep.previous_secret_expires_at
FROM claimed c JOIN {event} ev ON ev.id = c.event_id CROSS JOIN ep
ORDER BY c.due_at, c.id
"""


def _claim(*, endpoint_pk: int, now: datetime, limit: int) -> list[Claimed]:
    lease = timedelta(seconds=(settings.WEBHOOKS_TIMEOUT_SECONDS + 5) * max(limit, 1) + 30)
    with connection.cursor() as cursor:
        cursor.execute(
            _CLAIM_SQL.format(**_tables()),
            {"endpoint": endpoint_pk, "now": now, "limit": limit, "lease": now + lease},
        )
        rows = cursor.fetchall()
    if not rows:
        return []
    (_, _, _, _, url, key_id, ciphertext, previous_key_id, previous_ciphertext, expires) = rows[0]
    endpoint = WebhookEndpoint(
        pk=endpoint_pk,
        url=url,
        secret_key_id=key_id,
        secret_ciphertext=ciphertext,
        previous_secret_key_id=previous_key_id,
        previous_secret_ciphertext=previous_ciphertext,
        previous_secret_expires_at=expires,
    )
    secrets = tuple(selectors.endpoint_secrets(endpoint, now=now))
    claimed = []
    for pk, attempts, event_id, payload, *_ in rows:
        if isinstance(payload, str):  # the driver may hand jsonb over as text
            payload = json.loads(payload)
        claimed.append(
            Claimed(
                pk=pk,
                event_id=event_id,
                body=json.dumps(payload, separators=(",", ":")),
                url=url,
                secrets=secrets,
                attempts=attempts,
            )
        )
    return claimed


# One statement per batch: every outcome onto its delivery, and the endpoint's run of failures
# (failing_since) brought up to date, written only when it changes.
_RECORD_SQL = """
WITH v (id, status, response_status, response_body, latency_ms, last_error, delivered_at,
        next_attempt_at) AS (VALUES {values}),
done AS (
    UPDATE {delivery} d SET status = v.status, attempts = d.attempts + 1,
        response_status = v.response_status, response_body = v.response_body,
        latency_ms = v.latency_ms, last_error = v.last_error,
        delivered_at = COALESCE(v.delivered_at, d.delivered_at),
        next_attempt_at = v.next_attempt_at, updated = %s
    FROM v WHERE d.id = v.id
    RETURNING d.id
)
UPDATE {endpoint} SET failing_since = {failing}
WHERE id = %s AND failing_since IS DISTINCT FROM {failing}
"""
_RECORD_ROW = (
    "(%s::bigint, %s::varchar, %s::integer, %s::text, %s::integer, %s::text, %s::timestamptz,"
    " %s::timestamptz)"
)


def _record(*, tenant, endpoint_pk: int, results: list[tuple[Claimed, Outcome, datetime]]) -> None:
    """Record a batch of attempts (each with the moment it ended) in one statement: delivered, or
    retrying on Svix's schedule, or failed when the schedule is done or the policy refused. The
    endpoint's failing_since follows the last attempt: cleared by a success, else the start of the
    run of failures; past WEBHOOKS_DISABLE_AFTER_DAYS the endpoint is disabled."""
    if not results:
        return
    values: list[str] = []
    params: list[Any] = []
    for claimed, outcome, moment in results:
        if outcome.ok:
            status, delivered_at, next_at = WebhookDelivery.Status.DELIVERED, moment, None
        else:
            wait = None if outcome.refused else retry_delay(claimed.attempts + 1)
            status = (
                WebhookDelivery.Status.FAILED if wait is None else WebhookDelivery.Status.RETRYING
            )
            delivered_at = None
            next_at = None if wait is None else moment + timedelta(seconds=wait)
        values.append(_RECORD_ROW)
        params += [
            claimed.pk,
            status,
            outcome.status,
            outcome.body[:RESPONSE_BODY_KEPT],
            outcome.latency_ms,
            outcome.error,
            delivered_at,
            next_at,
        ]
    last_ok = max((i for i, (_, o, _) in enumerate(results) if o.ok), default=None)
    failures_after = results[(last_ok + 1) if last_ok is not None else 0 :]
    if not failures_after:
        failing, failing_params = "NULL::timestamptz", []
    elif last_ok is not None:  # a success in this batch ended the earlier run: a new run starts
        failing, failing_params = "%s::timestamptz", [failures_after[0][2]]
    else:  # the run goes on, or starts now
        failing, failing_params = "COALESCE(failing_since, %s::timestamptz)", [failures_after[0][2]]
    sql = _RECORD_SQL.format(values=", ".join(values), failing=failing, **_tables())
    params += [timezone.now(), *failing_params, endpoint_pk, *failing_params]
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
        if failures_after:
            _disable_if_failing_too_long(tenant=tenant, endpoint_pk=endpoint_pk, now=results[-1][2])


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
    passed (checked before each send: what was claimed and not sent is due again at once). Outcomes
    are recorded per batch, or sooner when a slow endpoint has kept them waiting RECORD_EVERY_SECONDS;
    a worker dying before that leaves them to their lease: sent again, at least once."""
    sent = 0
    with tenant_context(tenant):
        while deadline is None or time.monotonic() < deadline:
            moment = now or timezone.now()
            claimed = _claim(endpoint_pk=endpoint_pk, now=moment, limit=batch)
            if not claimed:
                break
            results: list[tuple[Claimed, Outcome, datetime]] = []
            unrecorded_since = time.monotonic()
            try:
                for index, item in enumerate(claimed):
                    if deadline is not None and time.monotonic() >= deadline:
                        WebhookDelivery.objects.filter(
                            pk__in=[c.pk for c in claimed[index:]]
                        ).update(next_attempt_at=moment)
                        return sent
                    outcome = send(
                        url=item.url, secrets=item.secrets, msg_id=item.event_id, body=item.body
                    )
                    results.append((item, outcome, now or timezone.now()))
                    sent += 1
                    if time.monotonic() - unrecorded_since >= RECORD_EVERY_SECONDS:
                        _record(tenant=tenant, endpoint_pk=endpoint_pk, results=results)
                        results, unrecorded_since = [], time.monotonic()
            finally:
                _record(tenant=tenant, endpoint_pk=endpoint_pk, results=results)
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
