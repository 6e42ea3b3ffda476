"""SEPA Direct Debit pays euros only (as on Stripe): the API never sends a non-EUR charge to a SEPA
account. A tenant billed in USD cannot add one; a SEPA default cannot pay a USD plan or invoice, nor
become the default of a USD subscription; each is a 400 `payment_method_currency_unsupported`, and
Stripe's own refusal, should it come, is the same clear 400 (never a 500 nor a decline)."""

import pytest

from tests.conftest import assert_error

from .conftest import bill_in

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("celery_eager", "media")]

IBAN = "DE89370400440532013000"


def _add_sepa(client):
    return client.post(
        "/api/v1/payment-methods", {"type": "sepa_debit", "iban": IBAN}, format="json"
    )


def test_a_tenant_billed_in_usd_cannot_add_a_sepa_account(catalog, owner_client, tenant):
    error = assert_error(_add_sepa(owner_client), 400, "payment_method_currency_unsupported")
    assert "EUR" in error["message"] and "USD" in error["message"], error
    assert error["detail"]["supported_currencies"] == ["eur"]
    assert owner_client.get("/api/v1/payment-methods").json() == []

    # A billing address in the euro area makes it a euro tenant (when the catalog has EUR plans).
    bill_in(tenant, "DE")
    assert_error(_add_sepa(owner_client), 400, "payment_method_currency_unsupported")
    from .conftest import euro_plan_create

    euro_plan_create()
    assert _add_sepa(owner_client).status_code == 201


def test_a_sepa_default_cannot_pay_a_usd_plan(euro_plan, owner_client):
    sepa = _add_sepa(owner_client)
    assert sepa.status_code == 201, sepa.content
    error = assert_error(
        owner_client.post(
            "/api/v1/subscriptions",
            {"plan_id": "starter", "billing_cycle": "monthly"},
            format="json",
        ),
        400,
        "payment_method_currency_unsupported",
    )
    assert "starter" in error["message"] and "USD" in error["message"]
    assert owner_client.get("/api/v1/subscriptions/current").status_code == 404

    # The free plan charges nothing, and a EUR plan is what SEPA pays.
    created = owner_client.post("/api/v1/subscriptions", {"plan_id": "starter-eur"}, format="json")
    assert created.status_code == 201, created.content


def test_a_usd_invoice_is_not_paid_by_sepa(
    euro_plan, owner_client, stripe_on, deliver, django_capture_on_commit_callbacks
):
    sepa = _add_sepa(owner_client).json()
    # A USD subscription paid by a card (it declines: the first invoice stays open).
    created = owner_client.post(
        "/api/v1/subscriptions",
        {"plan_id": "starter", "payment_method": "pm_card_chargeCustomerFail"},
        format="json",
    )
    assert created.status_code == 201, created.content
    invoice_id = created.json()["latest_invoice_id"]
    deliver()

    assert_error(
        owner_client.post(
            f"/api/v1/invoices/{invoice_id}/pay",
            {"payment_method_id": sepa["payment_method_id"]},
            format="json",
        ),
        400,
        "payment_method_currency_unsupported",
    )
    assert_error(
        owner_client.post(f"/api/v1/payment-methods/{sepa['payment_method_id']}/default"),
        400,
        "payment_method_currency_unsupported",
    )
    assert owner_client.get(f"/api/v1/invoices/{invoice_id}").json()["status"] == "open"

    # Should Stripe itself be asked, its refusal is the same clear 400.
    from billing_project.errors import InvalidRequest
    from billing_project.stripe_gateway import invoices as stripe_invoices

    with pytest.raises(InvalidRequest) as refused:
        stripe_invoices.invoice_pay(
            invoice_id=invoice_id, payment_method_id=sepa["payment_method_id"], key="t-sepa-usd"
        )
    assert refused.value.code == "payment_method_currency_unsupported"
    assert "sepa_debit only supports the following currencies: eur" in refused.value.message


def test_the_demo_bills_globex_in_euros_and_acme_in_dollars(stripe_on):
    from django.core.management import call_command

    from subscriptions.selectors import billing_currency_get, plan_list_for_tenant
    from tenants.models import Tenant

    call_command("seed_demo")
    call_command("seed_demo")  # idempotent: no second copy of the EUR plans
    globex, acme = Tenant.objects.get(slug="globex"), Tenant.objects.get(slug="acme")
    assert billing_currency_get(tenant=globex) == "eur"
    offered = {plan.code: plan for plan in plan_list_for_tenant(tenant=globex)}
    assert set(offered) == {"free-eur", "starter-eur", "professional-eur", "enterprise-eur"}
    assert offered["starter-eur"].price_monthly == 2900 and offered["starter-eur"].stripe_price_id
    assert billing_currency_get(tenant=acme) == "usd"
    assert {p.code for p in plan_list_for_tenant(tenant=acme)} == {
        "free",
        "starter",
        "professional",
        "enterprise",
    }


def test_the_demo_walkthrough_globex_subscribes_by_sepa_processing_then_paid(
    stripe_on, deliver, django_capture_on_commit_callbacks
):
    """README's `make run` walkthrough without the browser: globex's owner subscribes to the EUR
    Starter with IBAN DE89370400440532013000, sees "processing", and after
    `advance_clock --tenant globex --days 4` the invoice is paid."""
    import uuid

    from django.core.management import call_command

    from tenants.models import Tenant, User
    from tests.portal.conftest import OTHER_PORTAL_HOST, new_portal_client, sign_in

    call_command("seed_demo")
    globex = Tenant.objects.get(slug="globex")
    portal = sign_in(
        new_portal_client(OTHER_PORTAL_HOST), User.objects.get(email="owner@globex.test"), globex
    )
    portal.post("/i18n/setlang/", {"language": "en", "next": "/"})
    plans = portal.get("/subscribe/").content.decode()
    assert "€29.00" in plans and "$29.00" not in plans

    added = portal.post(
        "/payment-methods/sepa/",
        {
            "iban": "DE89 3704 0044 0532 0130 00",
            "account_holder": "Globex",
            "mandate_accepted": "on",
            "next": "/subscribe/starter-eur/",
        },
    )
    assert added.status_code == 302 and "payment_method=pm_" in added["Location"], added
    method = added["Location"].split("payment_method=", 1)[1]
    subscribed = portal.post(
        "/subscribe/starter-eur/",
        {"cycle": "monthly", "payment_method": method, "attempt": uuid.uuid4().hex, "confirm": "1"},
    )
    assert subscribed.status_code == 302, subscribed.content.decode()[:2000]
    deliver()
    assert "Payment processing" in portal.get("/").content.decode()

    call_command("advance_clock", "--tenant", "globex", "--days", "4")
    deliver()
    invoices = portal.get("/invoices/").content.decode()
    assert "Payment processing" not in portal.get("/").content.decode()
    assert "Paid" in invoices and "€29.00" in invoices
