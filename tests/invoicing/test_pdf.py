"""The branded PDF: its extracted text in each locale, page counts, storage with a checksum."""

import hashlib
import io

import pypdf
import pytest
from django_tenants.utils import tenant_context

from invoicing.documents import render_pdf
from invoicing.selectors import invoice_view
from tests.invoicing import payloads


def text_of(pdf: bytes) -> str:
    text = "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    return text.replace("\xa0", " ").replace("\u202f", " ")


def big_invoice(currency="usd", **kwargs):
    return payloads.invoice(
        currency=currency,
        lines=[
            payloads.line(1_200_000, "Enterprise plan", currency=currency),
            payloads.line(45_567, "API calls overage", currency=currency, quantity=3),
            payloads.line(-800, "Unused time on Starter", currency=currency, proration=True),
        ],
        discount=10_000,
        tax=25_000,
        **kwargs,
    )


@pytest.mark.parametrize(
    "locale, expected",
    [
        (
            "en",
            [
                "Invoice",
                "ACME-0042",
                "Mar 5, 2026",
                "Apr 5, 2026",
                "Enterprise plan",
                "$12,000.00",
                "Discount",
                "-$100.00",
                "$12,597.67",
                "Total",
                "Amount due",
                "How to pay",
                "Open",
            ],
        ),
        (
            "pt-br",
            [
                "Fatura",
                "ACME-0042",
                "5 de mar. de 2026",
                "Enterprise plan",
                "US$ 12.000,00",
                "Desconto",
                "US$ 12.597,67",
                "Valor devido",
                "Como pagar",
                "Em aberto",
                "proporcional",
            ],
        ),
        (
            "es",
            [
                "Factura",
                "ACME-0042",
                "5 mar 2026",
                "Enterprise plan",
                "12.000,00 US$",
                "Descuento",
                "12.597,67 US$",
                "Importe pendiente",
                "Cómo pagar",
                "Pendiente",
                "prorrateo",
            ],
        ),
    ],
)
def test_pdf_text_in_each_locale(tenant, locale, expected):
    tenant.locale, tenant.legal_name, tenant.tax_id = (
        locale,
        "Acme Corporation Ltda.",
        "12.345.678/0001-90",
    )
    tenant.address = "Rua das Flores 10\nSão Paulo"
    pdf, pages = render_pdf(invoice=invoice_view(big_invoice(), with_lines=True), tenant=tenant)
    text = text_of(pdf)
    assert pages == 1
    for snippet in expected + ["Acme Corporation Ltda.", "12.345.678/0001-90", "API calls overage"]:
        assert snippet in text, (snippet, text)


def test_zero_decimal_currency_and_paid_invoice_without_payment_instructions(tenant):
    data = payloads.invoice(
        currency="jpy", status="paid", lines=[payloads.line(2900, "Pro plan", currency="jpy")]
    )
    text = text_of(render_pdf(invoice=invoice_view(data, with_lines=True), tenant=tenant)[0])
    assert "¥2,900" in text and "Paid" in text and "How to pay" not in text
    assert "2,900.00" not in text


def test_a_long_invoice_breaks_into_pages_with_page_numbers(tenant):
    lines = [payloads.line(100 + i, f"Usage line {i:03d}") for i in range(50)]
    pdf, pages = render_pdf(
        invoice=invoice_view(payloads.invoice(lines=lines), with_lines=True), tenant=tenant
    )
    text = text_of(pdf)
    assert pages == 3
    assert "Usage line 000" in text and "Usage line 049" in text and "Page 3 of 3" in text


def test_render_stores_the_file_with_its_checksum(tenant, media, monkeypatch):
    from invoicing.services import documents

    data = big_invoice(status="paid")
    monkeypatch.setattr(documents, "_invoice_data", lambda tenant, invoice_id: data)
    with tenant_context(tenant):
        first = documents.document_render(tenant=tenant, invoice_id="in_test_0042")
        second = documents.document_render(tenant=tenant, invoice_id="in_test_0042")
    assert (
        first.status == second.status == "ready"
        and second.invoice_status == "paid"
        and second.locale == "en"
    )
    assert (
        second.file.name == f"invoices/{tenant.schema_name}/in_test_0042.pdf"
    )  # re-render replaces, no suffixed copies
    stored = (media / second.file.name).read_bytes()
    assert hashlib.sha256(stored).hexdigest() == second.checksum and len(stored) == second.size


def test_a_ready_pdf_missing_from_storage_is_rendered_again_not_a_500(
    tenant, media, monkeypatch, caplog
):
    """A document row says ready but its file is gone (lost media, or nodes each on their own disk):
    the download answers "not ready" and a render is queued, instead of failing on the open."""
    from invoicing.models import InvoiceDocument
    from invoicing.services import documents

    data = big_invoice(status="open")
    monkeypatch.setattr(documents, "_invoice_data", lambda tenant, invoice_id: data)
    with tenant_context(tenant):
        document = documents.document_render(tenant=tenant, invoice_id="in_test_0043")
        assert documents.document_ready_get(tenant=tenant, invoice_id="in_test_0043") == document
        (media / document.file.name).unlink()
        with caplog.at_level("ERROR", logger="invoicing.services.documents"):
            assert documents.document_ready_get(tenant=tenant, invoice_id="in_test_0043") is None
        row = InvoiceDocument.objects.get(invoice_id="in_test_0043")
    assert row.status == InvoiceDocument.Status.RENDERING
    assert "missing from storage" in caplog.text
