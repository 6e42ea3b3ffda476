"""The branded invoice PDF: template context in the tenant's locale, WeasyPrint rendering, storage.

Money is formatted from integer minor units by `money.money_format` (JPY prints without decimals);
nothing here talks to Stripe: callers hand in the invoice view.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

from babel.dates import format_date
from babel.numbers import format_decimal
from django.conf import settings
from django.template.loader import render_to_string

from billing_project.money import babel_locale, money_format
from invoicing.labels import labels_for
from invoicing.selectors import InvoiceView

TEMPLATE = "invoicing/invoice.html"


def _date(value, locale: str) -> str:
    return format_date(value.date(), format="medium", locale=babel_locale(locale)) if value else ""


def invoice_context(*, invoice: InvoiceView, tenant) -> dict:
    from billing_details.selectors import buyer_block, invoice_locale, seller_block

    locale = invoice_locale(tenant=tenant)
    labels = labels_for(locale)
    cur = invoice.currency

    def m(amount: int) -> str:
        return money_format(amount, cur, locale)

    def describe(line) -> str:
        label = labels.get(f"line_{line.purpose}") if line.purpose else None
        return label.replace("{number}", line.invoice_number) if label else line.description

    lines = [
        {
            "description": describe(line),
            "proration": line.proration,
            "period": (
                f"{_date(line.period_start, locale)} – {_date(line.period_end, locale)}"
                if line.period_start and line.period_end
                else ""
            ),
            "quantity": format_decimal(line.quantity, locale=babel_locale(locale)),
            "unit_amount": m(line.unit_amount) if line.unit_amount is not None else "",
            "amount": m(line.amount),
        }
        for line in invoice.lines
        if line.kind != "discount"
    ]
    return {
        "labels": labels,
        "lang": locale,
        # The seller (staff edit it in the admin; settings until then) and the buyer (billing details).
        "brand": seller_block(),
        "tenant": buyer_block(tenant=tenant),
        "invoice": invoice,
        "status_label": labels.get(f"status_{invoice.status}", invoice.status),
        "is_open": invoice.status == "open",
        "how_to_pay_text": labels["how_to_pay_text"].replace("{id}", invoice.invoice_id),
        "pay_url": settings.INVOICE_PAYMENT_INSTRUCTIONS_URL or invoice.hosted_invoice_url,
        "issued": _date(invoice.created, locale),
        "due": _date(invoice.due_date, locale),
        "period": (
            f"{_date(invoice.period_start, locale)} – {_date(invoice.period_end, locale)}"
            if invoice.period_start and invoice.period_end
            else ""
        ),
        "lines": lines,
        "subtotal": m(invoice.subtotal),
        "discount": m(-invoice.discount) if invoice.discount else "",
        "tax": m(invoice.tax),
        "total": m(invoice.total),
        "amount_paid": m(invoice.amount_paid),
        "amount_due": m(invoice.amount_remaining),
        "credit_applied": m(-invoice.credit_applied) if invoice.credit_applied else "",
    }


@lru_cache(maxsize=1)
def _font_config():
    from weasyprint.text.fonts import FontConfiguration

    return FontConfiguration()


def render_pdf(*, invoice: InvoiceView, tenant) -> tuple[bytes, int]:
    """(PDF bytes, page count) of the invoice."""
    from weasyprint import HTML

    html = render_to_string(TEMPLATE, invoice_context(invoice=invoice, tenant=tenant))
    document = HTML(string=html, base_url=str(settings.BASE_DIR)).render(font_config=_font_config())
    return document.write_pdf(), len(document.pages)


def checksum(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
