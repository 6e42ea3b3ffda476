"""A billing contact (an invoice email of the billing details, not a member) cannot sign in to the
portal: its invoice emails carry the invoice's PDF and a link it can open, Stripe's hosted invoice
page or else a signed, expiring no-login link to the PDF (404 when tampered, 410 when expired).
Members keep their portal link and get no attachment. In en, pt-BR and es."""

import io
import re
import urllib.parse

import pytest

from tests.invoicing.conftest import billing, celery_eager, media, stripe_on  # noqa: F401 (fixtures)
from tests.portal.conftest import OTHER_PORTAL_HOST, new_portal_client

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("celery_eager", "media")]

CONTACT = "ap@acme.test"


@pytest.fixture
def invoice(billing, tenant):  # noqa: F811 (a pytest fixture imported above)
    """acme's first invoice (Starter, paid by card), mirrored; acme's accounts payable is a
    billing contact who is no member."""
    from billing_details.models import BillingDetails

    BillingDetails.objects.update_or_create(tenant=tenant, defaults={"emails": [CONTACT]})
    billing.subscribe(tenant)
    account = billing.customer(tenant, card=None)
    return billing.invoices(account.stripe_customer_id)[0]


@pytest.fixture
def notify(emit, mailoutbox):
    """Emit a notification of `kind` about the invoice afresh (its own dedup key) and return the
    emails it sent."""

    def run(tenant, kind, invoice_id, data):
        mailoutbox.clear()
        emit(tenant, kind, invoice_id, f"test:{kind}:{invoice_id}", data)
        return list(mailoutbox)

    return run


def _pdf_text(content: bytes) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def _mail_to(mailoutbox, address):
    return next(m for m in mailoutbox if m.to == [address])


def _link(mail) -> str:
    """The path of the signed PDF link of the email (on acme's portal host)."""
    url = re.search(r"http://acme\.localhost\S*/invoice-pdf/[^/\s]+/", mail.body).group(0)
    return urllib.parse.urlsplit(url).path


def test_a_contact_gets_the_pdf_and_a_link_that_opens_it_a_member_the_portal(
    invoice, tenant, notify
):
    number = invoice.number
    mailoutbox = notify(tenant, "invoice_finalized", invoice.id, {"invoice_number": number})

    contact = _mail_to(mailoutbox, CONTACT)
    [(name, content, mimetype)] = contact.attachments
    assert (name, mimetype) == (f"{number}.pdf", "application/pdf")
    assert number in _pdf_text(content)  # it is this invoice
    assert "lists you as a billing contact" in contact.body
    assert f"/invoices/{invoice.id}/" not in contact.body  # no portal page it cannot open

    opened = new_portal_client().get(_link(contact))  # no session
    assert opened.status_code == 200 and opened["Content-Type"] == "application/pdf"
    assert number in _pdf_text(opened.content)

    member = _mail_to(mailoutbox, "owner@acme.test")
    assert member.attachments == []
    assert re.search(rf"http://acme\.localhost\S*/invoices/{invoice.id}/pdf/", member.body)
    assert "/invoice-pdf/" not in member.body


def test_a_tampered_or_foreign_or_expired_link_is_refused(invoice, tenant, notify, monkeypatch):
    from datetime import timedelta

    from invoicing.services import links

    mailoutbox = notify(
        tenant, "payment_succeeded", invoice.id, {"amount_paid": 2900, "currency": "usd"}
    )
    path = _link(_mail_to(mailoutbox, CONTACT))
    anonymous = new_portal_client()

    token = path.rstrip("/").rsplit("/", 1)[1]
    tampered = path.replace(token, token[:-2] + ("AA" if token[-2:] != "AA" else "BB"))
    assert anonymous.get(tampered).status_code == 404
    assert anonymous.get("/invoice-pdf/not-a-token/").status_code == 404
    # Another tenant's host does not open acme's invoice.
    assert new_portal_client(OTHER_PORTAL_HOST).get(path).status_code == 404

    monkeypatch.setattr(links, "LINK_MAX_AGE", timedelta(seconds=-1))  # every link is too old
    expired = anonymous.get(path)
    assert expired.status_code == 410 and b"expired" in expired.content


def test_stripes_hosted_invoice_page_is_the_contacts_link_when_there_is_one(
    invoice, tenant, notify
):
    hosted = "https://invoice.stripe.com/i/acct_1/test_hosted"
    mailoutbox = notify(tenant, "invoice_finalized", invoice.id, {"hosted_invoice_url": hosted})
    contact = _mail_to(mailoutbox, CONTACT)
    assert hosted in contact.body and "/invoice-pdf/" not in contact.body
    assert len(contact.attachments) == 1
    assert f"/invoices/{invoice.id}/pdf/" in _mail_to(mailoutbox, "owner@acme.test").body


@pytest.mark.parametrize(
    ("locale", "footer"),
    [
        ("en", "lists you as a billing contact. The invoice is attached as a PDF."),
        ("pt-br", "o indica como contato de cobrança. A fatura segue anexa em PDF."),
        ("es", "te indica como contacto de facturación. La factura va adjunta en PDF."),
    ],
)
def test_the_contacts_email_in_each_language(invoice, tenant, notify, locale, footer):
    tenant.locale = locale
    tenant.save(update_fields=["locale"])
    mailoutbox = notify(tenant, "refund_issued", invoice.id, {"amount": 900, "currency": "usd"})
    contact = _mail_to(mailoutbox, CONTACT)
    assert footer in contact.body
    assert len(contact.attachments) == 1 and "/invoice-pdf/" in contact.body
    assert _mail_to(mailoutbox, "owner@acme.test").attachments == []


def test_the_subscriptions_own_invoice_emails_reach_the_contact_with_the_pdf(invoice, mailoutbox):
    """Subscribing (the fixture) finalized and paid the first invoice: the contact's emails of
    those events carry that invoice's PDF and Stripe's hosted invoice page."""
    contact = [m for m in mailoutbox if m.to == [CONTACT]]
    assert {m.subject.split(" · ")[0] for m in contact} >= {
        f"Invoice {invoice.number} is ready",
        "Payment of $29.00 received",
    }
    for mail in contact:
        [(_name, content, _mimetype)] = mail.attachments
        assert invoice.number in _pdf_text(content)
        assert invoice.hosted_invoice_url in mail.body
