"""Every kind renders in en, pt-br and es: translated, branded, money and dates in the locale's form."""

import pytest

from billing_project.money import money_format
from notifications.events import KINDS
from notifications.messages import format_date, message_build, slack_payload
from notifications.services.deliveries import _email_render

pytestmark = pytest.mark.django_db

DATA = {
    "amount": 123450,
    "currency": "usd",
    "invoice_number": "ACME-0042",
    "attempt": 2,
    "next_attempt": "2026-12-04T10:00:00Z",
    "due_date": 1796688000,
    "trial_end": "2026-12-01",
    "cancel_at": "2026-12-31T00:00:00+00:00",
    "invoice_pdf": "https://files.example/in_1.pdf",
    "hosted_invoice_url": "https://pay.example/in_1",
    "resource_type": "api_calls",
    "threshold": 80,
    "used": "8000",
    "limit": 10000,
    "brand": "visa",
    "last4": "4242",
    "exp_month": 12,
    "exp_year": 2026,
    "url": "https://hooks.example/billing",
    "days": 5,
}


@pytest.mark.parametrize("locale", ["en", "pt-br", "es"])
@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_renders_in_each_locale(tenant, kind, locale):
    tenant.brand_color = "#ff6600"
    message = message_build(tenant=tenant, kind=kind, data=DATA, object_id="in_1", locale=locale)
    english = message_build(tenant=tenant, kind=kind, data=DATA, object_id="in_1", locale="en")
    assert message.title and message.body and "—" not in message.title + message.body
    if locale != "en":
        assert message.title != english.title and message.body != english.body  # translated
        assert [label for label, _ in message.facts] != [label for label, _ in english.facts]

    subject, text, html = _email_render(tenant=tenant, message=message)
    assert message.title in subject and "Acme Corp" in subject
    assert message.body in text and message.footer in text
    assert f'lang="{locale}"' in html and "#ff6600" in html  # branded
    payload = slack_payload(message, tenant=tenant)
    assert payload["text"] and payload["blocks"][0]["type"] == "header"


@pytest.mark.parametrize(
    "locale, amount, date",
    [
        ("en", "$1,234.50", "Dec. 4, 2026"),
        ("pt-br", "US$\xa01.234,50", "4 de Dezembro de 2026"),
        ("es", "1.234,50\xa0US$", "4 de diciembre de 2026"),
    ],
)
def test_money_and_dates_follow_the_locale(tenant, locale, amount, date):
    assert money_format(123450, "usd", locale) == amount
    assert format_date("2026-12-04T10:00:00Z", locale) == date
    message = message_build(tenant=tenant, kind="payment_retry_scheduled", data=DATA, locale=locale)
    assert amount in message.title and date in message.body


def test_zero_decimal_currency_and_the_tenants_locale_by_default(other_tenant):
    assert money_format(2900, "jpy", "en") == "¥2,900"
    message = message_build(
        tenant=other_tenant, kind="payment_succeeded", data={"amount": 2900, "currency": "brl"}
    )
    assert message.title == "Pagamento de R$\xa029,00 recebido"


def test_the_producers_field_names_render_too(tenant):
    """subscriptions' webhooks copy Stripe's amount_due / amount_paid, invoicing's dunning gives retry_at."""
    failed = message_build(
        tenant=tenant, kind="payment_failed", data={"amount_due": 2900, "currency": "usd"}
    )
    paid = message_build(
        tenant=tenant, kind="payment_succeeded", data={"amount_paid": 2900, "currency": "usd"}
    )
    retry = message_build(
        tenant=tenant,
        kind="payment_retry_scheduled",
        data={"amount": 2900, "currency": "usd", "retry_at": "2026-12-04T00:00:00+00:00"},
    )
    assert failed.title == "Payment of $29.00 failed" and paid.title == "Payment of $29.00 received"
    assert "Dec. 4, 2026" in retry.body
