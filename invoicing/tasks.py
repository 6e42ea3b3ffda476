"""Celery tasks of the invoicing app: thin wrappers around one service each.

Every task runs in one tenant's schema (tenant-schemas-celery carries it); beat runs the periodic
ones once per tenant (billing_project.celery)."""

from __future__ import annotations

from celery import shared_task
from django.db import connection


def _tenant():
    # tenant-schemas-celery switches the schema with a stand-in tenant object; services want the row.
    from tenants.models import Tenant

    return Tenant.objects.get(schema_name=connection.schema_name)


@shared_task(bind=True, max_retries=3, default_retry_delay=30, acks_late=True)
def invoice_render_pdf(self, *, invoice_id: str):
    from invoicing.services.documents import document_render

    try:
        document_render(tenant=_tenant(), invoice_id=invoice_id)
    except Exception as exc:
        raise self.retry(exc=exc)


@shared_task
def dunning_run_due_for_tenant():
    """Hourly: this tenant's payment retries that are due."""
    from invoicing.services.payments import dunning_run_due

    return dunning_run_due(tenant=_tenant())


@shared_task
def invoices_mark_overdue_for_tenant():
    """Daily: this tenant's open invoices past due date + grace become overdue."""
    from invoicing.services.payments import invoices_mark_overdue

    return invoices_mark_overdue(tenant=_tenant())
