"""Writes of the webhooks app: <entity>_<action>(*, tenant, ...) functions that own their transaction
and send side effects (Celery tasks) only after commit. `emit_event` is what producers call."""

from webhooks.services.deliveries import (
    RETRY_SCHEDULE_SECONDS,
    deliveries_flush,
    endpoints_due,
    events_expire,
    next_due_in,
    retry_delay,
)
from webhooks.services.endpoints import (
    deliveries_replay,
    delivery_retry,
    endpoint_create,
    endpoint_delete,
    endpoint_disabled_notify,
    endpoint_rotate_secret,
    endpoint_send_test,
    endpoint_update,
)
from webhooks.services.events import emit_event

__all__ = [
    "RETRY_SCHEDULE_SECONDS",
    "deliveries_flush",
    "deliveries_replay",
    "delivery_retry",
    "emit_event",
    "endpoint_create",
    "endpoint_delete",
    "endpoint_disabled_notify",
    "endpoint_rotate_secret",
    "endpoint_send_test",
    "endpoint_update",
    "endpoints_due",
    "events_expire",
    "next_due_in",
    "retry_delay",
]
