"""The subscribe pages and the 3-D Secure confirmation page with Django's test client (the browser
flows are in test_browser_subscribe.py): who may subscribe, coupon errors by code, what is due now,
the pages in English, Portuguese and Spanish, and another tenant's invoice is a 404."""

import pytest

from tests.portal.conftest import OTHER_PORTAL_HOST

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog(stripe_settings, settings, db):
    from subscriptions.selectors import plan_catalog_invalidate
    from subscriptions.services.catalog import plan_sync_all_to_stripe

    stripe_settings.reset()
    settings.STRIPE_TEST_CLOCKS = True
    plan_sync_all_to_stripe()
    plan_catalog_invalidate()
    yield
    plan_catalog_invalidate()


def test_the_plans_with_a_yearly_switch_and_saving(owner_portal, catalog):
    from subscriptions.models import Plan

    starter = Plan.objects.get(code="starter")
    html = owner_portal.get("/subscribe/?cycle=yearly").content.decode()
    assert "Choose Starter" in html and "/subscribe/starter/?cycle=yearly" in html
    saving = (starter.price_monthly * 12 - starter.price_yearly) / 100
    assert f"Yearly saves ${saving:,.2f}" in html


def test_a_plan_with_a_trial_and_no_card_needed_is_due_nothing_now(owner_portal, catalog):
    from subscriptions.models import Plan

    Plan.objects.filter(code="starter").update(trial_days=14, trial_without_card=True)
    html = owner_portal.get("/subscribe/starter/").content.decode()
    assert 'id="amount-due-now">$0.00<' in html and "None for now" in html
    response = owner_portal.post(
        "/subscribe/starter/", {"cycle": "monthly", "attempt": "t1", "payment_method": ""}
    )
    assert response.status_code == 302 and response["Location"] == "/"
    from subscriptions.selectors import subscription_get_current
    from tenants.models import Tenant

    account = subscription_get_current(tenant=Tenant.objects.get(slug="acme"))
    assert account.status == "trialing" and account.plan.code == "starter"
    # Subscribed: the subscribe pages lead to the plans now.
    assert owner_portal.get("/subscribe/")["Location"] == "/plans/"


def test_a_paid_plan_needs_a_payment_method(owner_portal, catalog):
    response = owner_portal.post(
        "/subscribe/starter/", {"cycle": "monthly", "attempt": "t2", "payment_method": ""}
    )
    assert response.status_code == 400
    assert "Choose a payment method: this plan charges one." in response.content.decode()


@pytest.mark.parametrize(
    "language, words",
    [
        ("en", ["Subscribe to Starter", "No such coupon.", "Confirm and subscribe"]),
        ("pt-br", ["Assinar o Starter", "Cupom não encontrado.", "Confirmar e assinar"]),
        ("es", ["Suscribirse a Starter", "No existe ese cupón.", "Confirmar y suscribirse"]),
    ],
)
def test_a_coupon_is_checked_with_the_apis_codes_in_each_language(
    owner_portal, catalog, language, words
):
    owner_portal.post("/i18n/setlang/", {"language": language, "next": "/"})
    response = owner_portal.post(
        "/subscribe/starter/", {"cycle": "monthly", "attempt": "t3", "coupon": "nope", "apply": "1"}
    )
    html = response.content.decode()
    assert response.status_code == 400
    for word in words:
        assert word in html


def test_a_valid_coupon_lowers_what_is_due_now(owner_portal, catalog):
    from coupons.services import coupon_create
    from subscriptions.models import Plan

    coupon_create(code="HALF", name="Half", percent_off=50, duration="once")
    starter = Plan.objects.get(code="starter")
    response = owner_portal.post(
        "/subscribe/starter/", {"cycle": "yearly", "attempt": "t4", "coupon": "half", "apply": "1"}
    )
    html = response.content.decode()
    assert response.status_code == 200 and "HALF: 50% off, once" in html
    assert f'id="amount-due-now">${starter.price_yearly / 200:,.2f}<' in html


def test_viewers_do_not_subscribe(viewer_portal, catalog):
    assert viewer_portal.get("/subscribe/").status_code == 403


def test_another_tenants_invoice_has_no_confirmation_page(
    portal_client_for, other_owner, owner_portal, catalog, tenant
):
    from subscriptions.services.subscriptions import subscription_create

    subscription_create(tenant=tenant, plan_id="starter", payment_method="pm_card_visa")
    from subscriptions.selectors import subscription_get_current

    invoice_id = subscription_get_current(tenant=tenant).latest_invoice_id
    assert owner_portal.get(f"/invoices/{invoice_id}/confirm-payment/").status_code == 302  # paid
    from tenants.models import Tenant

    globex = portal_client_for(
        other_owner, host=OTHER_PORTAL_HOST, on_tenant=Tenant.objects.get(slug="globex")
    )
    assert globex.get(f"/invoices/{invoice_id}/confirm-payment/").status_code == 404
