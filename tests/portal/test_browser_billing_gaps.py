"""Issue 14 in Chromium: the finance user's invoice list in the admin (real amounts) and the portal's
past-due banner paying the open invoice. Screenshots land in test-output/screenshots/4x-*.png."""

import pytest

from tests.conftest import DEMO_PASSWORD
from tests.invoicing.conftest import Billing, celery_eager, media, stripe_on  # noqa: F401 (fixtures)
from tests.portal.test_browser import (  # noqa: F401 (fixtures)
    CHROMIUM,
    chromium,
    live_portal_in_test_transaction,
    page,
    pytestmark,
    shot,
    sign_in,
)


@pytest.fixture
def acme_past_due(stripe_on, stripe_client, django_capture_on_commit_callbacks, tenant):  # noqa: F811 (a pytest fixture imported above)
    """acme: a paid $67.75 first invoice, then a renewal its card refused (subscription past_due)."""
    from subscriptions.services.common import mirror

    billing = Billing(stripe_client, django_capture_on_commit_callbacks)
    subscription = billing.subscribe(tenant, amount=6_775)
    account = billing.customer(tenant, card=None)
    billing.set_card(account.stripe_customer_id, "pm_card_chargeCustomerFail")
    billing.advance(tenant, days=31)
    mirror("Subscription", billing.stripe.v1.subscriptions.retrieve(subscription.id))
    billing.set_card(
        account.stripe_customer_id, "pm_card_visa", dispatch=False
    )  # the button's card
    [unpaid] = [i for i in billing.invoices(account.stripe_customer_id) if i.status == "open"]
    return unpaid


def test_finance_sees_real_amounts_and_the_banner_pays(
    page,  # noqa: F811 (a pytest fixture imported above)
    live_portal_in_test_transaction,  # noqa: F811 (a pytest fixture imported above)
    acme_past_due,
):
    from playwright.sync_api import expect

    port = live_portal_in_test_transaction.url.rsplit(":", 1)[1]

    # The finance group in the admin: the invoice list with total, paid and due per invoice.
    page.goto(f"http://localhost:{port}/admin/login/?next=/admin/djstripe/invoice/")
    page.locator("#id_username").fill("finance@platform.test")
    page.locator("#id_password").fill(DEMO_PASSWORD)
    page.locator("input[type=submit]").click()
    expect(page.locator("#result_list")).to_be_visible()
    expect(page.locator("#result_list")).to_contain_text("$67.75")
    assert "$6,775.00" not in page.content()
    shot(page, "40-admin-invoices-as-finance")
    page.locator("#result_list a", has_text=acme_past_due.number).click()
    expect(page.locator("#content h2")).to_contain_text(
        f"Invoice {acme_past_due.number} for $67.75 (open, $67.75 due)"
    )
    shot(page, "41-admin-open-invoice-as-finance")

    # The portal: the banner's button pays the open invoice.
    sign_in(page, f"http://acme.localhost:{port}/", "owner@acme.test")
    banner = page.locator("#billing-alert")
    expect(banner).to_contain_text("Your payment is past due.")
    shot(page, "42-portal-past-due-banner")
    banner.get_by_role("button", name="Pay $67.75 now").click()
    expect(page.get_by_text(f"Invoice {acme_past_due.number} was paid.")).to_be_visible()
    shot(page, "43-portal-paid-from-banner")
