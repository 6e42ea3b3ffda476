"""Celery tasks of the usage app. Beat runs each in every tenant's schema (tenant-schemas-celery)."""

from celery import shared_task
from django.db import connection

from usage import services


@shared_task(name="usage.tasks.usage_meter_push")
def usage_meter_push():
    services.usage_meter_push(tenant=connection.tenant)


@shared_task(name="usage.tasks.usage_collectors_run_due")
def usage_collectors_run_due():
    services.usage_collectors_run_due(tenant=connection.tenant)
