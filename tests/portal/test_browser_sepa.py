"""Subscribing with SEPA Direct Debit in the portal, in Chromium (Playwright), against the Stripe
emulator: a tenant without a subscription, billed in euros (its billing address is in Germany), is
offered the EUR plans and picks one, adds its IBAN on the subscribe
page (the mandate text shown and accepted), confirms, and lands on its dashboard with the plan and its
first invoice processing; once the emulator settles the debit (`POST /_emulator/settle`), the invoice
is paid. The live server shares the test's transaction (see tests/portal/test_browser.py)."""

import json
import urllib.request

import pytest

from tests.invoicing.conftest import celery_eager, media, stripe_on  # noqa: F401 (fixtures)
from tests.portal.test_browser import (  # noqa: F401 (fixtures)
    chromium,
    live_portal_in_test_transaction,
    page,
    pytestmark,
    shot,
)
from tests.portal.test_browser_subscribe import fresh_tenant, portal  # noqa: F401 (fixtures)

IBAN = "DE89370400440532013000"  # Stripe's test IBAN whose debits succeed


@pytest.fixture
def euro_plan(fresh_tenant):  # noqa: F811 (a pytest fixture imported above)
    """SEPA Direct Debit collects euros only: a public plan priced in EUR, synced to the emulator,
    offered to the tenant because its billing address is in Germany (a euro country)."""
    from billing_details.models import BillingDetails
    from subscriptions.models import Plan
    from subscriptions.selectors import plan_catalog_invalidate
    from subscriptions.services.catalog import plan_sync_to_stripe

    plan = Plan.objects.create(
        code="starter-eu",
        name="Starter EU",
        currency="eur",
        price_monthly=2500,
        price_yearly=25000,
        features=["All Free", "Email support"],
        limits={"api_calls": 10000, "storage_gb": 50, "users": 5},
        feature_keys=Plan.objects.get(code="starter").feature_keys,
    )
    plan_sync_to_stripe(plan=plan)
    plan_catalog_invalidate()
    BillingDetails.objects.create(tenant=fresh_tenant, country="DE")
    return plan


def _settle(emulator) -> list[dict]:
    """The emulator's control call: settle every processing debit now."""
    request = urllib.request.Request(f"{emulator.url}/_emulator/settle", data=b"{}", method="POST")
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())["data"]


class Webhooks:
    """The emulator's new events, oldest first, through the billing apps' handlers (subscriptions,
    invoicing), as Stripe's webhooks would bring them; commit callbacks run."""

    def __init__(self, stripe_client, capture):
        self.stripe, self.capture, self.seen = stripe_client, capture, set()

    def deliver(self):
        from subscriptions.services.webhooks import webhook_handle

        events = self.stripe.v1.events.list(params={"limit": 100}).data
        for event in sorted(events, key=lambda e: (e.created, e.id)):
            if event.id in self.seen:
                continue
            self.seen.add(event.id)
            with self.capture(execute=True):
                webhook_handle(payload=event.to_dict(), apps={"subscriptions", "invoicing"})


def test_a_tenant_subscribes_with_a_sepa_iban_processing_then_paid(
    page,  # noqa: F811 (pytest fixtures imported above)
    portal,  # noqa: F811
    live_portal_in_test_transaction,  # noqa: F811
    fresh_tenant,  # noqa: F811
    euro_plan,
    stripe_on,  # noqa: F811
    stripe_client,
    django_capture_on_commit_callbacks,
):
    from playwright.sync_api import expect

    from subscriptions.services.payment_methods import payment_method_attach

    # A card on file is the default; the IBAN added on the subscribe page is chosen all the same.
    payment_method_attach(tenant=fresh_tenant, token="pm_card_visa")
    server = live_portal_in_test_transaction.thread.httpd
    hooks = Webhooks(stripe_client, django_capture_on_commit_callbacks)

    def deliver():
        """Between two of the browser's requests (they share the test's connection)."""
        with server.lock:
            hooks.deliver()

    expect(page.locator("dl.facts dd").first).to_have_text("Free")
    page.get_by_role("link", name="Choose a plan").first.click()
    card = page.locator("section.plan").filter(has_text="Starter EU")
    expect(card.get_by_text("€25.00 a month")).to_be_visible()
    # Billed in euros: the USD plans are not offered.
    expect(page.locator("section.plan").filter(has_text="$29.00")).to_have_count(0)
    card.get_by_role("link", name="Choose Starter EU").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Subscribe to Starter EU")
    expect(page.locator("#amount-due-now")).to_have_text("€25.00")

    # The IBAN, on the same page: the mandate is shown and must be accepted.
    page.locator("#other-methods-hint").get_by_role("link", name="Add the account below").click()
    sepa = page.locator("#sepa-debit")
    expect(sepa.get_by_role("heading", name="Add a SEPA Direct Debit account")).to_be_in_viewport()
    expect(sepa.locator("#sepa-mandate")).to_contain_text(
        "By providing your IBAN and confirming, you authorise (A) Billing Platform and Stripe"
    )
    sepa.get_by_label("IBAN").fill("DE89 3704 0044 0532 0130 00")
    accept = sepa.get_by_label("I accept the SEPA Direct Debit mandate above")
    accept.check()
    # A checkbox sits beside its label, not stretched across the form.
    box, label = accept.bounding_box(), accept.locator("xpath=..").bounding_box()
    assert box["width"] < 30 and box["x"] - label["x"] < 10, (box, label)
    shot(page, "40-subscribe-sepa-iban")
    page.screenshot(path="/tmp/sepa-1-iban.png", full_page=True)
    sepa.get_by_role("button", name="Add SEPA account").click()

    # Back on the subscribe page, the account chosen to pay.
    expect(page.get_by_role("heading", level=1)).to_have_text("Subscribe to Starter EU")
    expect(page.get_by_text("SEPA DE89 •••• 3000 was added.")).to_be_visible()
    method = page.get_by_role("combobox", name="Payment method")
    expect(method.locator("option:checked")).to_have_text("SEPA DE89 •••• 3000")
    page.screenshot(path="/tmp/sepa-2-confirm.png", full_page=True)
    shot(page, "41-subscribe-sepa-confirm")
    page.get_by_role("button", name="Confirm and subscribe").click()

    expect(
        page.get_by_text("Welcome to Starter EU! Your subscription has started.")
    ).to_be_visible()
    expect(page.locator("dl.facts dd").first).to_have_text("Starter EU")
    deliver()
    page.reload()
    processing = page.locator("#payment-processing")
    expect(processing).to_contain_text("Payment processing")
    expect(processing).to_contain_text("Your bank debit of €25.00 is on its way")
    page.screenshot(path="/tmp/sepa-3-processing.png", full_page=True)
    shot(page, "42-subscribed-sepa-processing")
    processing.get_by_role("link", name="See the invoice").click()
    expect(page.locator("dl").first).to_contain_text("Payment processing")
    expect(page.get_by_role("button", name="Pay now")).to_have_count(0)  # never debited twice

    with server.lock:
        settled = _settle(stripe_on)
    assert [s["outcome"] for s in settled] == ["succeeded"]
    deliver()
    page.reload()
    expect(page.locator("dl").first).to_contain_text("Paid")
    expect(page.locator("dl").first).not_to_contain_text("Payment processing")
    page.get_by_role("link", name="Dashboard").click()
    expect(page.locator("#payment-processing")).to_have_count(0)
    expect(page.locator("dl.facts dd").first).to_have_text("Starter EU")
    page.screenshot(path="/tmp/sepa-4-paid.png", full_page=True)
    shot(page, "43-subscribed-sepa-paid")

    stripe_invoice = stripe_client.v1.invoices.list(params={"limit": 1}).data[0]
    assert (stripe_invoice.status, stripe_invoice.amount_paid, stripe_invoice.currency) == (
        "paid",
        2500,
        "eur",
    )
