"""Invoices and receipts reach every invoice email of the tenant's billing details (its accounts
payable, who need not be members), not only the first; other notices stay with the members."""

import pytest

from tests.notifications.conftest import PAYMENT_FAILED
from tests.subscriptions.conftest import catalog, stripe_on  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db

DETAILS = "/api/v1/tenants/current/billing-details"
INVOICE = {
    "amount": 2900,
    "currency": "usd",
    "invoice_number": "ACME-0007",
    "hosted_invoice_url": "https://pay.example/in_7",
    "invoice_pdf": "https://pay.example/in_7/pdf",
}


def _to(mailoutbox):
    return sorted(address for message in mailoutbox for address in message.to)


def test_every_billing_email_receives_the_invoice_and_the_receipt(
    catalog,  # noqa: F811 (a pytest fixture imported above)
    owner_client,
    tenant,
    emit,
    mailoutbox,
):
    saved = owner_client.patch(
        DETAILS,
        {"emails": ["financeiro@acme.test", "ap@acme.test", "Owner@Acme.test"]},
        format="json",
    )
    assert saved.status_code == 200, saved.content
    members = ["admin@acme.test", "owner@acme.test"]

    emit(tenant, "invoice_finalized", "in_7", None, INVOICE)
    # Every billing email once (the owner, also a billing email, gets one message, not two).
    assert _to(mailoutbox) == sorted([*members, "ap@acme.test", "financeiro@acme.test"])
    invoice_mail = next(m for m in mailoutbox if m.to == ["ap@acme.test"])
    assert invoice_mail.subject == "Invoice ACME-0007 is ready · Acme Corp"
    assert "Your invoice ACME-0007 for $29.00 is ready." in invoice_mail.body

    mailoutbox.clear()
    emit(tenant, "payment_succeeded", "in_7", None, INVOICE)
    assert _to(mailoutbox) == sorted([*members, "ap@acme.test", "financeiro@acme.test"])

    # A failed payment is for the people who can fix it: the members, as before.
    mailoutbox.clear()
    emit(tenant, "payment_failed", "in_8", "payment_failed:in_8:1", PAYMENT_FAILED)
    assert _to(mailoutbox) == members


def test_without_billing_details_the_tenants_email_receives_the_receipt(tenant, emit, mailoutbox):
    # The portal shows the tenant's email as its invoice email until details are saved.
    emit(tenant, "payment_succeeded", "in_9", None, INVOICE)
    assert _to(mailoutbox) == ["admin@acme.test", "billing@acme.test", "owner@acme.test"]
