"""Subscribing in the portal, in Chromium (Playwright), against the Stripe emulator: a fresh tenant
chooses Starter yearly with a coupon and a card and lands on its dashboard; a card that needs 3-D
Secure goes through the "Confirm your payment" page and the bank's (the emulator's) page, completed
or failed. The live server shares the test's transaction (see tests/portal/test_browser.py)."""

import pytest

from tests.conftest import DEMO_PASSWORD
from tests.invoicing.conftest import celery_eager, media, stripe_on  # noqa: F401 (fixtures)
from tests.portal.test_browser import (  # noqa: F401 (fixtures)
    chromium,
    live_portal_in_test_transaction,
    page,
    pytestmark,
    shot,
    sign_in,
)


@pytest.fixture
def fresh_tenant(stripe_on):  # noqa: F811
    """Umbrella, new: an owner, no subscription; the catalog in the emulator; WELCOME20 exists."""
    from coupons.services import coupon_create
    from subscriptions.selectors import plan_catalog_invalidate
    from subscriptions.services.catalog import plan_sync_all_to_stripe
    from tenants.services import tenant_create

    tenant = tenant_create(
        name="Umbrella",
        slug="umbrella",
        email="billing@umbrella.test",
        owner_email="owner@umbrella.test",
        owner_password=DEMO_PASSWORD,
    )
    plan_sync_all_to_stripe()
    plan_catalog_invalidate()
    coupon_create(code="WELCOME20", name="Welcome", percent_off=20, duration="once")
    yield tenant
    plan_catalog_invalidate()  # the cached public catalog holds this test's Stripe price ids


@pytest.fixture
def portal(page, live_portal_in_test_transaction, fresh_tenant):  # noqa: F811
    port = live_portal_in_test_transaction.url.rsplit(":", 1)[1]
    url = lambda path="/": f"http://umbrella.localhost:{port}{path}"  # noqa: E731
    sign_in(page, url(), "owner@umbrella.test")
    return url


def _choose(page, plan: str, *, cycle: str):  # noqa: F811 (pytest fixtures imported above)
    from playwright.sync_api import expect

    page.get_by_role("link", name="Choose a plan").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Choose a plan")
    page.get_by_role("link", name=cycle, exact=True).click()
    page.get_by_role("link", name=f"Choose {plan}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Subscribe to {plan}")


def test_a_new_tenant_subscribes_to_starter_yearly_with_a_coupon(page, portal):  # noqa: F811 (pytest fixtures imported above)
    from playwright.sync_api import expect

    from portal.templatetags.portal import money
    from subscriptions.models import Plan

    starter = Plan.objects.get(code="starter")
    expect(page.locator("dl.facts dd").first).to_have_text("Free")
    page.get_by_role("link", name="Choose a plan").first.click()
    page.get_by_role("link", name="Yearly", exact=True).click()
    saving = starter.price_monthly * 12 - starter.price_yearly
    card = page.locator("section.plan").filter(has_text="Starter")
    expect(card.get_by_text(f"{money(starter.price_yearly, 'usd')} a year")).to_be_visible()
    expect(card.get_by_text(f"Yearly saves {money(saving, 'usd')}")).to_be_visible()
    shot(page, "30-subscribe-plans-yearly")
    card.get_by_role("link", name="Choose Starter").click()
    expect(page.locator("#amount-due-now")).to_have_text(money(starter.price_yearly, "usd"))

    page.get_by_label("Coupon code").fill("NOPE")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_role("alert").get_by_text("No such coupon.")).to_be_visible()
    page.get_by_label("Coupon code").fill("welcome20")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#subscribe-discount")).to_have_text("WELCOME20: 20% off, once")
    expect(page.locator("#amount-due-now")).to_have_text(
        money(starter.price_yearly * 80 // 100, "usd")
    )
    page.get_by_role("combobox", name="Payment method").select_option("pm_card_visa")
    shot(page, "31-subscribe-confirm")
    page.get_by_role("button", name="Confirm and subscribe").click()

    expect(page.get_by_text("Welcome to Starter! Your subscription has started.")).to_be_visible()
    expect(page.locator("dl.facts dd").first).to_have_text("Starter")
    expect(page.locator("#billing-cycle")).to_have_text("Yearly")
    expect(page.locator("#discount")).to_have_text("WELCOME20: 20% off, once")
    expect(page.locator("#payment-action-alert")).to_have_count(0)
    shot(page, "32-subscribed-dashboard")


def test_a_card_that_needs_3d_secure_is_confirmed_on_the_banks_page(page, portal):  # noqa: F811 (pytest fixtures imported above)
    from playwright.sync_api import expect

    _choose(page, "Starter", cycle="Monthly")
    page.get_by_role("combobox", name="Payment method").select_option(
        "pm_card_authenticationRequired"
    )
    page.get_by_role("button", name="Confirm and subscribe").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm your payment")
    shot(page, "33-confirm-your-payment")
    # The dashboard's banner leads back here too.
    page.get_by_role("link", name="Dashboard").click()
    page.locator("#payment-action-alert").get_by_role("link", name="Confirm your payment").click()
    page.get_by_role("button", name="Confirm with your bank").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("3D Secure test payment")
    page.get_by_role("button", name="Complete authentication").click()

    expect(page.get_by_text("Your payment is confirmed. Thank you!")).to_be_visible()
    expect(page.locator("dl.facts dd").first).to_have_text("Starter")
    expect(page.locator("dl.facts dd").nth(1)).to_have_text("Active")
    expect(page.locator("#payment-action-alert")).to_have_count(0)
    shot(page, "34-authenticated-dashboard")


def test_a_failed_authentication_leaves_the_invoice_payable_later(page, portal):  # noqa: F811 (pytest fixtures imported above)
    from playwright.sync_api import expect

    _choose(page, "Starter", cycle="Monthly")
    page.get_by_role("combobox", name="Payment method").select_option(
        "pm_card_authenticationRequired"
    )
    page.get_by_role("button", name="Confirm and subscribe").click()
    page.get_by_role("button", name="Confirm with your bank").click()
    page.get_by_role("button", name="Fail authentication").click()

    expect(
        page.get_by_text("Your bank did not confirm the payment, so nothing was charged.")
    ).to_be_visible()
    expect(page.get_by_text("Open", exact=True).first).to_be_visible()
    shot(page, "35-authentication-failed")

    # Later: pay now -> the bank asks again -> completed -> paid.
    page.get_by_role("button", name="Pay now").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm your payment")
    page.get_by_role("button", name="Confirm with your bank").click()
    page.get_by_role("button", name="Complete authentication").click()
    expect(page.get_by_text("Your payment is confirmed. Thank you!")).to_be_visible()
    expect(page.locator("dl.facts dd").nth(1)).to_have_text("Active")
