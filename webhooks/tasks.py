"""Celery tasks of the webhooks app: thin wrappers around the services.

`webhook_endpoint_flush` wakes one endpoint in the worker process's sender pool (webhooks.dispatcher:
threads of its own, at most WEBHOOKS_ENDPOINT_CONCURRENCY per endpoint) and returns, so no worker
slot ever waits on a tenant's endpoint.
"""

from __future__ import annotations

import logging

import redis
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
    """Hand the endpoint to this process's sender pool (webhooks.dispatcher) and return: the
    worker slot is free again at once, however slow the endpoint."""
    from webhooks import dispatcher

    try:
        get_redis().delete(_queued_key(tenant, endpoint_pk))
    except redis.RedisError:
        pass
    dispatcher.get().wake(tenant, endpoint_pk)


@tenant_task
def webhooks_sweep(tenant) -> None:
    """Beat, every minute, in each tenant: wake the endpoints with due deliveries whose task was lost
    or whose retry is hours away; expire old events (WEBHOOKS_EVENT_RETENTION_DAYS)."""
    from webhooks.services import endpoints_due, events_expire

    endpoints_wake(tenant=tenant, endpoint_pks=endpoints_due(tenant=tenant))
    events_expire(tenant=tenant)
