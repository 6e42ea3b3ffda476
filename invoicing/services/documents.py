"""Invoice PDFs: request a (re-)render, render and store with a checksum."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.utils import timezone

from billing_project.stripe_gateway import invoices as stripe_invoices
from invoicing import documents, selectors, tasks
from invoicing.models import InvoiceDocument

if TYPE_CHECKING:
    from tenants.models import Tenant

logger = logging.getLogger(__name__)


def document_request(*, tenant: Tenant, invoice_id: str) -> InvoiceDocument:
    """Mark the invoice's PDF as rendering (the API answers `pdf_not_ready` meanwhile) and queue the
    render after commit. A document already stored keeps its file until the new one replaces it."""
    with transaction.atomic():
        document, _ = InvoiceDocument.objects.update_or_create(
            invoice_id=invoice_id,
            defaults={"status": InvoiceDocument.Status.RENDERING, "error": ""},
        )
        # The schema travels explicitly: commit callbacks may run after the caller left the tenant.
        schema = connection.schema_name  # type: ignore[attr-defined]  # django-tenants' backend adds it; django-stubs types the connection as BaseDatabaseWrapper
        transaction.on_commit(
            lambda: tasks.invoice_render_pdf.apply_async(
                kwargs={"invoice_id": invoice_id}, headers={"_schema_name": schema}
            )
        )
    return document


def document_ready_get(*, tenant: Tenant, invoice_id: str) -> InvoiceDocument | None:
    """The invoice's stored PDF when it is ready to serve, else None (the caller answers "retry later").

    An invoice with no document at all (older than this service, or its task was lost) gets a render
    requested here, so asking for the PDF is enough to make it appear."""
    document = selectors.document_get(invoice_id=invoice_id)
    if document is None:
        document_request(tenant=tenant, invoice_id=invoice_id)
        return None
    if document.status != InvoiceDocument.Status.READY or not document.file:
        return None
    if not document.file.storage.exists(document.file.name or ""):
        # Marked ready but gone from storage (lost media, or nodes that each keep their own disk
        # instead of shared object storage): render it again rather than answer a 500.
        logger.error(
            "invoice %s: stored PDF %s is missing from storage; rendering it again (several nodes "
            "need shared storage: STORAGE_S3_BUCKET)",
            invoice_id,
            document.file.name,
        )
        document_request(tenant=tenant, invoice_id=invoice_id)
        return None
    return document


def _invoice_data(tenant: Tenant, invoice_id: str) -> dict[str, Any]:
    mirrored = selectors.invoice_get(tenant=tenant, invoice_id=invoice_id)
    if mirrored is not None:
        return mirrored.stripe_data  # type: ignore[no-any-return]  # dj-stripe's JSONField
    return dict(stripe_invoices.invoice_retrieve(invoice_id))  # type: ignore[call-overload, no-any-return]  # dj-stripe's compat gives StripeObject dict's methods (stripe 15); stripe's types do not


def document_render(*, tenant: Tenant, invoice_id: str) -> InvoiceDocument:
    """Render the invoice's PDF in the tenant's locale and store it (MEDIA_ROOT by default).

    The file name is fixed per invoice, so a re-render replaces the old file; the checksum lets a
    reader verify what it downloads. A failure is recorded on the row and raised (the task retries)."""
    data = _invoice_data(tenant, invoice_id)
    state = selectors.invoice_states(invoice_ids=[invoice_id]).get(invoice_id)
    view = selectors.invoice_view(data, with_lines=True, state=state)
    try:
        pdf, pages = documents.render_pdf(invoice=view, tenant=tenant)
    except Exception as exc:
        InvoiceDocument.objects.update_or_create(
            invoice_id=invoice_id,
            defaults={"status": InvoiceDocument.Status.FAILED, "error": repr(exc)[:2000]},
        )
        raise
    name = f"invoices/{connection.schema_name}/{invoice_id}.pdf"  # type: ignore[attr-defined]  # django-tenants' backend adds it; django-stubs types the connection as BaseDatabaseWrapper
    with transaction.atomic():
        document, _ = InvoiceDocument.objects.select_for_update().get_or_create(
            invoice_id=invoice_id
        )
        if default_storage.exists(name):
            default_storage.delete(name)
        document.file.name = default_storage.save(name, ContentFile(pdf))
        document.checksum = documents.checksum(pdf)
        document.size = len(pdf)
        document.pages = pages
        document.locale = tenant.locale
        document.invoice_status = view.status
        document.status = InvoiceDocument.Status.READY
        document.error = ""
        document.rendered_at = timezone.now()
        document.save()
    return document


def document_pdf_get(*, tenant: Tenant, invoice_id: str) -> tuple[str, bytes] | None:
    """The invoice's PDF as (file name, bytes), to attach to an email: the stored one when it shows
    the invoice's current status, else rendered now (an email does not wait for the render queue,
    and a receipt must not carry the PDF of the invoice while it was still open). None for an
    invoice the service does not know (not mirrored)."""
    mirrored = selectors.invoice_get(tenant=tenant, invoice_id=invoice_id)
    if mirrored is None:
        return None
    data = mirrored.stripe_data
    document = selectors.document_get(invoice_id=invoice_id)
    if (
        document is None
        or document.status != InvoiceDocument.Status.READY
        or not document.file
        or document.invoice_status != data.get("status")
    ):
        document = document_render(tenant=tenant, invoice_id=invoice_id)
    with document.file.open("rb") as handle:
        body = handle.read()
    return f"{data.get('number') or invoice_id}.pdf", body
