"""Celery tasks of the invoicing app: thin wrappers around one service each.

Every task runs in one tenant's schema (tenant-schemas-celery carries it; `@tenant_task` hands the
task that tenant); beat runs the periodic ones once per tenant (billing_project.celery). Tasks
import the services inside the function: services enqueue tasks, never the other way round."""

from __future__ import annotations

from billing_project.tasks import tenant_task


@tenant_task(bind=True, max_retries=3, default_retry_delay=30, acks_late=True)
def invoice_render_pdf(self, tenant, *, invoice_id: str):
    from invoicing.services.documents import document_render

    try:
        document_render(tenant=tenant, invoice_id=invoice_id)
    except Exception as exc:
        raise self.retry(exc=exc) from exc


@tenant_task
def dunning_run_due_for_tenant(tenant):
    """Hourly: this tenant's payment retries that are due."""
    from invoicing.services.payments import dunning_run_due

    return dunning_run_due(tenant=tenant)


@tenant_task
def invoices_mark_overdue_for_tenant(tenant):
    """Daily: this tenant's open invoices past due date + grace become overdue."""
    from invoicing.services.payments import invoices_mark_overdue

    return invoices_mark_overdue(tenant=tenant)
