"""The hosted invoice page: a finalized invoice's `hosted_invoice_url` opens on the emulator, as
Stripe's does, so links the service sends (billing contacts' emails) work on a developer's machine."""

import requests

from .helpers import customer_with_card, recurring_price


def test_a_finalized_invoice_links_to_a_page_that_shows_it(stripe_client, stripe_emulator_fresh):
    customer, _ = customer_with_card(stripe_client, card="pm_card_visa")
    sub = stripe_client.v1.subscriptions.create(
        params={"customer": customer.id, "items": [{"price": recurring_price(stripe_client).id}]}
    )
    invoice = stripe_client.v1.invoices.retrieve(sub.latest_invoice)
    assert invoice.hosted_invoice_url == (
        f"{stripe_emulator_fresh.url}/_emulator/invoices/{invoice.id}"
    )
    page = requests.get(invoice.hosted_invoice_url, timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert f"Invoice {invoice.number}" in page.text
    assert "<strong>paid</strong>" in page.text
    total = f"{invoice.total / 100:.2f} {invoice.currency.upper()}"
    assert f"Total: {total}" in page.text and f"Amount paid: {total}" in page.text


def test_an_unknown_or_draft_invoice_has_no_page(stripe_client, stripe_emulator_fresh):
    customer, _ = customer_with_card(stripe_client, card="pm_card_visa")
    draft = stripe_client.v1.invoices.create(params={"customer": customer.id})
    assert draft.hosted_invoice_url is None
    for invoice_id in (draft.id, "in_missing"):
        page = requests.get(
            f"{stripe_emulator_fresh.url}/_emulator/invoices/{invoice_id}", timeout=10
        )
        assert page.status_code == 404
