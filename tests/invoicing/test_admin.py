"""The finance admin for invoices: list with filters, the detail panel, refund form and the
cross-tenant queue of refunds pending approval."""

import pytest
from django.test import Client


@pytest.fixture
def admin_client_(db, django_user_model):
    user = django_user_model.objects.create_superuser(
        email="root@platform.test", password="correct-horse-9"
    )
    client = Client()
    client.force_login(user)
    return client


def test_invoice_admin_list_detail_refund_and_pending_queue(
    billing, tenant, admin_client_, owner_client, django_capture_on_commit_callbacks
):
    from djstripe.models import Invoice

    billing.subscribe(tenant, amount=90_000)
    invoice = Invoice.objects.get(id=owner_client.get("/api/v1/invoices").json()[0]["invoice_id"])
    listing = admin_client_.get("/admin/djstripe/invoice/?status=paid&overdue=yes")
    assert listing.status_code == 200
    listing = admin_client_.get("/admin/djstripe/invoice/?status=paid")
    assert invoice.stripe_data["number"] in listing.content.decode()

    page = admin_client_.get(f"/admin/djstripe/invoice/{invoice.pk}/change/").content.decode()
    assert "Pro plan" in page and "Dunning: none" in page and "PDF</a>" in page
    pdf = admin_client_.get(f"/admin/djstripe/invoice/{invoice.pk}/pdf/")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"

    response = admin_client_.post(
        f"/admin/djstripe/invoice/{invoice.pk}/refund/", {"amount": "600.00", "reason": "dup"}
    )
    assert response.status_code == 302
    queue = admin_client_.get("/admin/djstripe/invoice/refunds-pending/").content.decode()
    assert invoice.id in queue and "root@platform.test" in queue
