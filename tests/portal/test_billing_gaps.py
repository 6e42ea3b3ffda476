"""Portal gaps of issue 14 (item 9): email buttons open the exact page (after signing in too), the
past-due banner pays the open invoice, refunds and credit notes show on the invoice, and a decline
reads in the visitor's language to the end."""

import re

import pytest
from django_tenants.utils import tenant_context

from tests.conftest import DEMO_PASSWORD
from tests.invoicing.conftest import billing, celery_eager, media, stripe_on  # noqa: F401 (fixtures)
from tests.portal.conftest import OTHER_PORTAL_HOST, new_portal_client, sign_in

pytestmark = pytest.mark.django_db

PORTAL = "http://acme.localhost:8000"


def button_link(email, label: str) -> str:
    """The URL of the email's button `label` (the text part prints "label: url")."""
    found = re.search(rf"^{re.escape(label)}: (\S+)$", email.body, re.MULTILINE)
    assert found, email.body
    return found.group(1)


def open_invoice_of(billing, tenant, amount=12_000):  # noqa: F811 (a pytest fixture imported above)
    """An open send_invoice invoice of the tenant (a one-off line), mirrored."""
    account = billing.customer(tenant, card=None)
    billing.stripe.v1.invoice_items.create(
        params={
            "customer": account.stripe_customer_id,
            "amount": amount,
            "currency": "usd",
            "description": "Setup",
        }
    )
    draft = billing.stripe.v1.invoices.create(
        params={
            "customer": account.stripe_customer_id,
            "collection_method": "send_invoice",
            "days_until_due": 10,
            "pending_invoice_items_behavior": "include",
        }
    )
    billing.stripe.v1.invoices.finalize_invoice(draft.id)
    billing.dispatch()
    return draft.id


def test_the_emails_download_pdf_opens_the_pdf_after_signing_in(billing, tenant, owner, mailoutbox):  # noqa: F811 (a pytest fixture imported above)
    billing.subscribe(tenant, amount=6_775)
    [invoice_id] = [
        i.id for i in billing.invoices(billing.customer(tenant, card=None).stripe_customer_id)
    ]
    ready = [m for m in mailoutbox if m.to == [owner.email] and "Download PDF" in m.body]
    assert ready, [m.subject for m in mailoutbox]
    link = button_link(ready[0], "Download PDF")
    assert link == f"{PORTAL}/invoices/{invoice_id}/pdf/"

    # A visitor without a session: the login page, which comes back to the PDF, not the portal's home.
    client = new_portal_client()
    path = link.removeprefix(PORTAL)
    to_login = client.get(path)
    assert (
        to_login.status_code == 302
        and to_login["Location"] == f"/login/?next=/invoices/{invoice_id}/pdf/"
    )
    signed_in = client.post(to_login["Location"], {"email": owner.email, "password": DEMO_PASSWORD})
    assert signed_in.status_code == 302 and signed_in["Location"] == path
    pdf = client.get(path)
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"


def test_the_update_payment_method_button_opens_the_cards_page(tenant, owner):
    from notifications.messages import message_build

    message = message_build(
        tenant=tenant,
        kind="payment_failed",
        object_id="in_42",
        data={"amount_due": 2900, "currency": "usd", "invoice_number": "ACME-0042"},
    )
    assert message.action_label == "Update payment method"
    assert message.action_url == f"{PORTAL}/payment-methods/"
    client = new_portal_client()
    to_login = client.get("/payment-methods/")
    assert to_login["Location"] == "/login/?next=/payment-methods/"
    signed_in = client.post(to_login["Location"], {"email": owner.email, "password": DEMO_PASSWORD})
    assert signed_in["Location"] == "/payment-methods/"
    assert "Payment methods" in client.get("/payment-methods/").content.decode()


def test_the_past_due_banner_pays_the_open_invoice(billing, tenant, owner_portal, viewer_portal):  # noqa: F811 (a pytest fixture imported above)
    from djstripe.models import Invoice

    from subscriptions.services.common import mirror

    subscription = billing.subscribe(tenant)
    account = billing.customer(tenant, card=None)
    billing.set_card(account.stripe_customer_id, "pm_card_chargeCustomerFail")
    billing.advance(tenant, days=31)
    mirror("Subscription", billing.stripe.v1.subscriptions.retrieve(subscription.id))
    [unpaid] = [i for i in billing.invoices(account.stripe_customer_id) if i.status == "open"]

    html = owner_portal.get("/").content.decode()
    assert "Your payment is past due." in html
    assert f'action="/invoices/{unpaid.id}/pay/"' in html and "Pay $29.00 now" in html
    viewer = viewer_portal.get("/").content.decode()
    assert "Your payment is past due." in viewer and "/pay/" not in viewer  # a viewer may not pay

    # A good card (no customer.updated dispatch: its dunning retry would pay before the button does).
    billing.set_card(account.stripe_customer_id, "pm_card_visa", dispatch=False)
    paid = owner_portal.post(f"/invoices/{unpaid.id}/pay/")
    assert paid.status_code == 302 and paid["Location"] == f"/invoices/{unpaid.id}/"
    assert Invoice.objects.get(id=unpaid.id).stripe_data["status"] == "paid"
    assert "was paid." in owner_portal.get(paid["Location"]).content.decode()


def test_refunds_and_credit_notes_show_on_the_invoice(billing, tenant, owner_portal):  # noqa: F811 (a pytest fixture imported above)
    from invoicing.services import finance

    billing.subscribe(tenant, amount=6_775)
    account = billing.customer(tenant, card=None)
    [paid_id] = [i.id for i in billing.invoices(account.stripe_customer_id)]
    open_id = open_invoice_of(billing, tenant)
    with tenant_context(tenant):
        finance.refund_create(
            tenant=tenant,
            invoice_id=paid_id,
            amount=2_000,
            reason="internal: goodwill",
            actor="finance@platform.test",
        )
        finance.credit_note_create(
            tenant=tenant,
            invoice_id=open_id,
            amount=5_000,
            reason="internal: setup waived",
            actor="finance@platform.test",
        )

    paid_page = owner_portal.get(f"/invoices/{paid_id}/").content.decode()
    assert (
        "Refunds and credit notes" in paid_page
        and "Refund to your card" in paid_page
        and "$20.00" in paid_page
    )
    assert "internal:" not in paid_page  # finance's reasons are theirs
    open_page = owner_portal.get(f"/invoices/{open_id}/").content.decode()
    assert (
        "Credit on this invoice" in open_page and "$50.00" in open_page and "$70.00" in open_page
    )  # still due

    owner_portal.post("/i18n/setlang/", {"language": "pt-br", "next": "/"})
    assert "Reembolso no seu cartão" in owner_portal.get(f"/invoices/{paid_id}/").content.decode()


@pytest.mark.parametrize(
    "language, decline",
    [
        ("pt-br", "O cartão foi recusado: o banco não informou o motivo"),
        ("es", "La tarjeta fue rechazada: el banco no indicó el motivo"),
    ],
)
def test_a_decline_reads_in_the_visitors_language_to_the_end(
    billing,  # noqa: F811 (a pytest fixture imported above)
    other_tenant,
    other_owner,
    language,
    decline,
):
    billing.customer(other_tenant)
    portal = sign_in(
        new_portal_client(OTHER_PORTAL_HOST), other_owner, other_tenant
    )  # globex speaks pt-br
    if language != "pt-br":
        portal.post("/i18n/setlang/", {"language": language, "next": "/"})
    response = portal.post("/payment-methods/add/", {"token": "pm_card_chargeDeclined"})
    assert response.status_code == 400
    html = response.content.decode()
    assert decline in html
    assert "Your card was declined" not in html and "The card was declined" not in html
