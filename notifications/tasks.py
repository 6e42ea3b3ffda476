"""Celery tasks of the notifications app: thin wrappers around the services.

tenant-schemas-celery runs each task in the schema that was active when it was sent, and
`@tenant_task` hands the task that tenant; beat sends the periodic ones once per tenant. Tasks
import the services inside the function: services enqueue tasks, never the other way round.
"""

import logging

import redis
from django_tenants.utils import tenant_context
from kombu.exceptions import OperationalError as BrokerError

from billing_project.tasks import tenant_task

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
                logger.warning(
                    "deliveries of %s left pending for the retry sweep: broker unavailable (%s)",
                    tenant.schema_name,
                    exc,
                )
                return


@tenant_task(bind=True, max_retries=None, acks_late=True)
def delivery_send(self, tenant, delivery_id: int) -> None:
    from notifications.services import delivery_attempt

    retry_in = delivery_attempt(tenant=tenant, delivery_id=delivery_id)
    if retry_in is not None:
        raise self.retry(countdown=retry_in)


@tenant_task
def notifications_daily_checks(tenant) -> None:
    """Beat, daily, in each tenant: the trial-ending backstop and the card-expiry check."""
    from notifications.services import card_expiring_check, trial_ending_check

    trial_ending_check(tenant=tenant)
    card_expiring_check(tenant=tenant)


@tenant_task
def notifications_retry_sweep(tenant) -> None:
    """Beat, every few minutes, in each tenant: re-enqueue deliveries whose task was lost."""
    from notifications.services import deliveries_retry_due

    deliveries_retry_due(tenant=tenant)
