"""Celery tasks of the notifications app: thin wrappers around the services.

tenant-schemas-celery runs each task in the schema that was active when it was sent, so
`connection.tenant` is the delivery's tenant; beat sends the periodic ones once per tenant.
"""

import logging

import redis
from celery import shared_task
from django.conf import settings
from django.db import connection
from django_tenants.utils import tenant_context
from kombu.exceptions import OperationalError as BrokerError

from notifications import services

logger = logging.getLogger(__name__)


def deliveries_enqueue(*, tenant, delivery_ids) -> None:
    """Send one `delivery_send` task per delivery, from the tenant's schema (which the task inherits).

    Runs after the commit of the deliveries: when the broker (Redis) does not take the tasks, the
    rows stay pending and `notifications_retry_sweep` enqueues them once it answers again; failing
    here would answer 500 for a notification that exists."""
    with tenant_context(tenant):
        for delivery_id in delivery_ids:
            try:
                delivery_send.delay(delivery_id)
            except (BrokerError, redis.RedisError) as exc:
                logger.warning("deliveries of %s left pending for the retry sweep: broker unavailable (%s)",
                               tenant.schema_name, exc)
                return


@shared_task(bind=True, max_retries=None, acks_late=True)
def delivery_send(self, delivery_id: int) -> None:
    retry_in = services.delivery_attempt(tenant=connection.tenant, delivery_id=delivery_id)
    if retry_in is not None:
        raise self.retry(countdown=retry_in)


def _in_a_tenant() -> bool:
    # Beat sends these per tenant (tenant-schemas-celery's scheduler, entries without
    # `tenant_schemas`); one sent from public by hand has no tenant tables to read.
    return connection.schema_name != settings.PUBLIC_SCHEMA_NAME


@shared_task
def notifications_daily_checks() -> None:
    """Beat, daily, in each tenant: the trial-ending backstop and the card-expiry check."""
    if _in_a_tenant():
        services.trial_ending_check(tenant=connection.tenant)
        services.card_expiring_check(tenant=connection.tenant)


@shared_task
def notifications_retry_sweep() -> None:
    """Beat, every few minutes, in each tenant: re-enqueue deliveries whose task was lost."""
    if _in_a_tenant():
        services.deliveries_retry_due(tenant=connection.tenant)
