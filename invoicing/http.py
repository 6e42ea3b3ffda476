"""HTTP answers of the invoicing app shared by the API and the portal (services return data, never
a response: this is the edge's part)."""

from __future__ import annotations

from django.http import HttpResponse

from invoicing.models import InvoiceDocument


def document_response(document: InvoiceDocument, *, invoice, disposition: str) -> HttpResponse:
    """The stored PDF as an HTTP answer named after the invoice's number, with the checksum a reader
    can verify it by; `disposition` is "inline" (API) or "attachment" (portal download)."""
    with document.file.open("rb") as handle:
        body = handle.read()
    response = HttpResponse(body, content_type="application/pdf")
    response["Content-Disposition"] = (
        f'{disposition}; filename="{invoice.stripe_data.get("number") or invoice.id}.pdf"'
    )
    response["X-Checksum-SHA256"] = document.checksum
    return response
