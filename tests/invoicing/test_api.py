"""The invoice API on invoices made by the emulator and mirrored by dj-stripe."""

import io

import pypdf
import pytest
from django_tenants.utils import tenant_context

from tests.conftest import assert_error


def pdf_text(body: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(body)).pages)


@pytest.fixture
def renewed(billing, tenant):
    """acme subscribed at 29.00/month, then one month later: two paid invoices."""
    sub = billing.subscribe(tenant)
    billing.advance(tenant, days=32)
    return sub


def test_list_detail_and_pdf_of_the_renewal_invoice(renewed, owner_client, tenant, billing):
    response = owner_client.get("/api/v1/invoices")
    assert response.status_code == 200, response.content
    invoices = response.json()
    assert len(invoices) == 2
    newest = invoices[0]
    assert newest["status"] == "paid" and newest["currency"] == "usd"
    assert (
        newest["total"] == newest["amount_paid"] == "29.00" and newest["amount_remaining"] == "0.00"
    )
    assert (
        newest["subtotal"] == "29.00" and newest["discount"] == "0.00" and newest["tax"] == "0.00"
    )
    assert newest["paid_at"].endswith("Z") and newest["period_start"] < newest["period_end"]
    assert newest["pdf_url"].endswith(f"/api/v1/invoices/{newest['invoice_id']}/pdf")

    detail = owner_client.get(f"/api/v1/invoices/{newest['invoice_id']}").json()
    assert detail["invoice_number"] == newest["invoice_number"]
    assert [
        (line["kind"], line["amount"], line["quantity"], line["proration"])
        for line in detail["lines"]
    ] == [("plan", "29.00", 1, False)]

    pdf = owner_client.get(newest["pdf_url"])
    assert pdf.status_code == 200, pdf.content
    assert pdf["Content-Type"] == "application/pdf"
    text = pdf_text(pdf.content)
    assert (
        newest["invoice_number"] in text
        and "Acme Corp" in text
        and "$29.00" in text
        and "Paid" in text
    )


def test_filters_paging_and_another_tenants_invoice(renewed, owner_client, client_for, other_owner):
    assert [i["status"] for i in owner_client.get("/api/v1/invoices?status=open").json()] == []
    first = owner_client.get("/api/v1/invoices?limit=1")
    assert len(first.json()) == 1 and 'rel="next"' in first["Link"]
    next_url = first["Link"].split(";")[0].strip("<>")
    second = owner_client.get(next_url)
    assert len(second.json()) == 1 and "Link" not in second
    assert second.json()[0]["invoice_id"] != first.json()[0]["invoice_id"]
    newest = first.json()[0]
    assert (
        owner_client.get(f"/api/v1/invoices?from={newest['created']}").json()[0]["invoice_id"]
        == newest["invoice_id"]
    )
    assert len(owner_client.get(f"/api/v1/invoices?to={newest['created']}").json()) == 1
    assert_error(owner_client.get("/api/v1/invoices?status=bogus"), 400, "invalid_request")

    other = client_for(other_owner)
    assert other.get("/api/v1/invoices").json() == []
    assert_error(other.get(f"/api/v1/invoices/{newest['invoice_id']}"), 404, "not_found")
    assert_error(other.get(f"/api/v1/invoices/{newest['invoice_id']}/pdf"), 404, "not_found")


def test_pdf_not_ready_while_rendering(billing, tenant, owner_client):
    from invoicing.models import InvoiceDocument

    billing.subscribe(tenant)
    invoice_id = owner_client.get("/api/v1/invoices").json()[0]["invoice_id"]
    with tenant_context(tenant):
        InvoiceDocument.objects.filter(invoice_id=invoice_id).update(status="rendering")
    error = assert_error(
        owner_client.get(f"/api/v1/invoices/{invoice_id}/pdf"), 404, "pdf_not_ready"
    )
    assert "render" in error["message"]


def test_render_invoice_pdfs_command_missing_then_all(billing, tenant, owner_client, capsys):
    from django.core.management import call_command

    from invoicing.models import InvoiceDocument

    billing.subscribe(tenant)
    invoice_id = owner_client.get("/api/v1/invoices").json()[0]["invoice_id"]
    with tenant_context(tenant):
        InvoiceDocument.objects.filter(invoice_id=invoice_id).delete()
    call_command("render_invoice_pdfs", "--missing")
    assert "1 PDFs rendered, 0 failed" in capsys.readouterr().out
    call_command("render_invoice_pdfs", "--missing", "--tenant", "acme")
    assert "0 PDFs rendered" in capsys.readouterr().out
    with tenant_context(tenant):
        before = InvoiceDocument.objects.get(invoice_id=invoice_id).rendered_at
    call_command("render_invoice_pdfs", "--all")
    out = capsys.readouterr().out
    assert "[########################################] 1/1" in out and "1 PDFs rendered" in out
    with tenant_context(tenant):
        assert InvoiceDocument.objects.get(invoice_id=invoice_id).rendered_at > before
    assert owner_client.get(f"/api/v1/invoices/{invoice_id}/pdf").status_code == 200
