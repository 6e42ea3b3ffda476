"""Prometheus series of the notifications app (served by django-prometheus at /metrics)."""

from prometheus_client import Counter

NOTIFICATIONS = Counter(
    "billing_notifications_total",
    "Notification delivery outcomes by channel, kind and status (sent, retrying, failed)",
    ["channel", "kind", "status"],
)
