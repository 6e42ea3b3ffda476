"""Prometheus series of the notifications app: billing_notifications_total{channel,kind,status}.

Deliveries mostly run in the Celery worker, which nobody scrapes, so the count is kept in Redis and
exported by web's /metrics (billing_project/business_metrics.py).
"""

from billing_project.business_metrics import business_counter_inc

NOTIFICATIONS = "billing_notifications_total"


def notification_outcome_count(*, channel: str, kind: str, status: str) -> None:
    """Count one delivery attempt's outcome (sent, retrying, failed); call it after the commit."""
    business_counter_inc(NOTIFICATIONS, {"channel": channel, "kind": kind, "status": status})
