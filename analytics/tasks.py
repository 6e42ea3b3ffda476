"""Celery tasks of the analytics app: thin wrappers around its services."""

from celery import shared_task


@shared_task(ignore_result=True)
def analytics_metrics_refresh() -> None:
    """Beat, every minute, in the public schema: the MRR and movement gauges of /metrics."""
    from analytics.metrics import analytics_metrics_refresh as refresh

    refresh()
