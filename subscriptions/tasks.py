"""Celery tasks of the subscriptions app: thin wrappers around its services."""

from celery import shared_task

from subscriptions import metrics


@shared_task(ignore_result=True)
def subscription_metrics_refresh() -> None:
    """Beat, every minute, in the public schema: the subscription gauges of /metrics."""
    metrics.subscription_metrics_refresh()
