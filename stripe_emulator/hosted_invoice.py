"""The hosted invoice page: what Stripe's ``hosted_invoice_url`` is to a real invoice.

A finalized invoice's ``hosted_invoice_url`` points at ``/_emulator/invoices/<invoice id>``, so a link
the service sends (a billing contact's email, the API's ``hosted_invoice_url``) opens on a developer's
machine as it would on Stripe: the invoice's number, status, lines and amounts. Paying from this page
is not emulated; the portal's pay-now and the API do that.
"""

from __future__ import annotations

import html

HOSTED_INVOICE_PAGE = "/_emulator/invoices/"


def hosted_invoice_url(state, invoice_id: str) -> str:
    base = getattr(state, "public_url", None) or "http://127.0.0.1:12111"
    return f"{base}{HOSTED_INVOICE_PAGE}{invoice_id}"


def _money(amount: int | None, currency: str) -> str:
    # The emulator knows no locale: minor units shown as a decimal amount with the ISO code.
    from .resources.payment_intents import ZERO_DECIMAL

    value = int(amount or 0)
    if currency in ZERO_DECIMAL:
        return f"{value} {currency.upper()}"
    return f"{value / 100:.2f} {currency.upper()}"


def _page(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem}"
        "table{border-collapse:collapse;width:100%}td,th{padding:.3rem;border-bottom:1px solid #ddd;"
        "text-align:left}td.n{text-align:right}</style></head>"
        f"<body>{body}</body></html>"
    )


def handle_invoice_page(state, method, path):
    """Serve ``GET /_emulator/invoices/<invoice>``; returns ``(status, html, headers)``."""
    invoice_id = path[len(HOSTED_INVOICE_PAGE) :].strip("/")
    if method != "GET":
        return 405, _page("Not allowed", "<h1>Method not allowed</h1>"), {"Allow": "GET"}
    with state.lock:
        inv = state.find(invoice_id, "invoice")
        if inv is None or not inv.get("hosted_invoice_url"):
            # Stripe has no hosted page for an unknown invoice or a draft.
            return 404, _page("Not found", "<h1>No such invoice</h1>"), {}
        currency = inv.get("currency") or "usd"
        rows = "".join(
            f"<tr><td>{html.escape(line.get('description') or '')}</td>"
            f"<td class='n'>{html.escape(_money(line.get('amount'), currency))}</td></tr>"
            for line in inv.get("_lines") or []
        )
        title = f"Invoice {inv.get('number') or inv['id']}"
        body = (
            f"<h1>{html.escape(title)}</h1>"
            f"<p>Status: <strong>{html.escape(inv.get('status') or '')}</strong></p>"
            f"<table><tr><th>Description</th><th>Amount</th></tr>{rows}</table>"
            f"<p>Total: {html.escape(_money(inv.get('total'), currency))}<br>"
            f"Amount paid: {html.escape(_money(inv.get('amount_paid'), currency))}<br>"
            f"Amount due: {html.escape(_money(inv.get('amount_remaining'), currency))}</p>"
            "<p><small>Stripe emulator: the hosted invoice page.</small></p>"
        )
    return 200, _page(title, body), {}
