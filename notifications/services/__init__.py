"""Writes of the notifications app: <entity>_<action>(*, tenant, ...) functions that own their
transaction and send side effects (Celery tasks) only after commit."""

from notifications.services.checks import card_expiring_check, trial_ending_check
from notifications.services.deliveries import (
    deliveries_retry_due,
    delivery_attempt,
    delivery_resend,
)
from notifications.services.notifications import (
    notification_create_for_event,
    notification_mark_read,
    notification_test_send,
    on_billing_event,
)
from notifications.services.preferences import (
    platform_slack_update,
    preference_update,
    secrets_reencrypt,
)

__all__ = [
    "card_expiring_check",
    "deliveries_retry_due",
    "delivery_attempt",
    "delivery_resend",
    "notification_create_for_event",
    "notification_mark_read",
    "notification_test_send",
    "on_billing_event",
    "platform_slack_update",
    "preference_update",
    "secrets_reencrypt",
    "trial_ending_check",
]
