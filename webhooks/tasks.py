"""Celery tasks of the webhooks app: thin wrappers around the services.

Each endpoint is flushed by its own task (`webhook_endpoint_flush`): it sends that endpoint's due
deliveries with bounded concurrency for a bounded time, then puts itself back at the end of the queue
if more are due. A slow or dead endpoint thus holds at most one worker slot at a time, for at most a
time budget plus one request's timeout, while the other endpoints' tasks keep going.
"""

from __future__ import annotations

import logging

import redis
from django.conf import settings
from django_tenants.utils import tenant_context
from kombu.exceptions import OperationalError as BrokerError

from billing_project.redis import get_redis, redis_key
from billing_project.tasks import tenant_task

logger = logging.getLogger(__name__)


def _queued_key(tenant, endpoint_pk: int) -> str:
    return redis_key("webhooks", "queued", tenant.schema_name, endpoint_pk)


def endpoints_wake(*, tenant, endpoint_pks, countdown: float = 0) -> None:
    """Make sure a flush task is queued for each endpoint (one at a time: a flag in Redis says one is
    already queued, so a burst of 1,000 events queues one task, not 1,000). Runs after commit; when
    Redis or the broker is down the deliveries stay due and `webhooks_sweep` wakes them."""
    with tenant_context(tenant):
        for pk in endpoint_pks:
            try:
                if not get_redis().set(
                    _queued_key(tenant, pk), 1, nx=True, ex=max(60, int(countdown) + 60)
                ):
                    continue
                webhook_endpoint_flush.apply_async((pk,), countdown=countdown or None)
            except (BrokerError, redis.RedisError) as exc:
                logger.warning(
                    "webhook deliveries of %s left for the sweep: %s", tenant.schema_name, exc
                )
                return


@tenant_task(acks_late=True)
def webhook_endpoint_flush(tenant, endpoint_pk: int) -> None:
    from webhooks.services import deliveries_flush, next_due_in

    try:
        get_redis().delete(_queued_key(tenant, endpoint_pk))
    except redis.RedisError:
        pass
    deliveries_flush(
        tenant=tenant,
        endpoint_pk=endpoint_pk,
        budget_seconds=settings.WEBHOOKS_FLUSH_BUDGET_SECONDS,
    )
    wait = next_due_in(tenant=tenant, endpoint_pk=endpoint_pk)
    # Far retries (hours) are left to the sweep: a countdown that long outlives Redis's visibility.
    if wait is not None and wait <= 300:
        endpoints_wake(tenant=tenant, endpoint_pks=[endpoint_pk], countdown=wait)


@tenant_task
def webhooks_sweep(tenant) -> None:
    """Beat, every minute, in each tenant: wake the endpoints with due deliveries whose task was lost
    or whose retry is hours away; expire old events (WEBHOOKS_EVENT_RETENTION_DAYS)."""
    from webhooks.services import endpoints_due, events_expire

    endpoints_wake(tenant=tenant, endpoint_pks=endpoints_due(tenant=tenant))
    events_expire(tenant=tenant)
