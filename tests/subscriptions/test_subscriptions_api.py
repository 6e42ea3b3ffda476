"""Subscriptions through the API and Stripe (the emulator): create, current, cancel/resume, change,
preview, cancel now; roles and the customer per tenant."""

import pytest

from tests.conftest import assert_error
from tests.subscriptions.conftest import subscribe

pytestmark = pytest.mark.django_db


def test_customer_per_tenant_has_metadata_a_test_clock_and_a_mirror(catalog, tenant, stripe_client):
    from djstripe.models import Customer

    from subscriptions.services.customers import customer_ensure

    account = customer_ensure(tenant=tenant)
    again = customer_ensure(tenant=tenant)
    assert again.stripe_customer_id == account.stripe_customer_id
    customer = stripe_client.v1.customers.retrieve(account.stripe_customer_id)
    assert (
        customer.metadata["tenant_id"] == str(tenant.id)
        and customer.metadata["tenant_slug"] == "acme"
    )
    assert customer.test_clock == account.test_clock_id and account.test_clock_id.startswith(
        "clock_"
    )
    assert Customer.objects.get(id=customer.id).subscriber == tenant


def test_trial_subscription_with_card_then_current_and_conflict(
    catalog, owner_client, stripe_client
):
    body = subscribe(owner_client, plan_id="starter", payment_method="pm_card_visa", trial_days=14)
    assert (
        body["status"] == "trialing"
        and body["plan_id"] == "starter"
        and body["billing_cycle"] == "monthly"
    )
    assert (
        body["trial_end"]
        and body["client_secret"] is None
        and body["cancel_at_period_end"] is False
    )
    current = owner_client.get("/api/v1/subscriptions/current").json()
    assert current["subscription_id"] == body["subscription_id"] and current["status"] == "trialing"
    sub = stripe_client.v1.subscriptions.retrieve(body["subscription_id"])
    assert sub.trial_end and sub["items"].data[0].price.id == catalog["starter"].stripe_price_id
    again = owner_client.post("/api/v1/subscriptions", {"plan_id": "professional"}, format="json")
    assert_error(again, 409, "subscription_exists")


def test_free_plan_needs_no_card_and_paid_without_card_is_incomplete_with_secret(
    catalog, owner_client, other_client
):
    free = subscribe(owner_client, plan_id="free")
    assert free["status"] == "active" and free["client_secret"] is None
    paid = subscribe(other_client, plan_id="starter", billing_cycle="yearly")
    assert paid["status"] == "incomplete" and paid["client_secret"]
    assert paid["latest_invoice_id"].startswith("in_")


def test_price_id_must_match_the_plan_and_cycle_and_bad_input_is_400(catalog, owner_client):
    wrong = owner_client.post(
        "/api/v1/subscriptions",
        {
            "plan_id": "starter",
            "billing_cycle": "yearly",
            "price_id": catalog["starter"].stripe_price_id,
        },
        format="json",
    )
    assert_error(wrong, 400, "invalid_request")
    assert_error(
        owner_client.post(
            "/api/v1/subscriptions", {"plan_id": "starter", "trial_days": 91}, format="json"
        ),
        400,
        "invalid_request",
    )
    assert_error(
        owner_client.post(
            "/api/v1/subscriptions", {"plan_id": "starter", "colour": "red"}, format="json"
        ),
        400,
        "invalid_request",
    )
    ok = subscribe(
        owner_client,
        plan_id="starter",
        billing_cycle="yearly",
        payment_method="pm_card_visa",
        price_id=catalog["starter"].stripe_price_id_yearly,
    )
    assert ok["status"] == "active" and ok["billing_cycle"] == "yearly"


def test_no_subscription_is_404_and_viewer_cannot_write(
    catalog, owner_client, viewer_client, client_for, billing_admin
):
    assert_error(owner_client.get("/api/v1/subscriptions/current"), 404, "no_subscription")
    assert_error(
        viewer_client.post("/api/v1/subscriptions", {"plan_id": "free"}, format="json"),
        403,
        "permission_denied",
    )
    admin = client_for(billing_admin)
    subscribe(admin, plan_id="starter", payment_method="pm_card_visa")
    assert viewer_client.get("/api/v1/subscriptions/current").json()["plan_id"] == "starter"
    assert_error(
        viewer_client.put(
            "/api/v1/subscriptions/current", {"cancel_at_period_end": True}, format="json"
        ),
        403,
        "permission_denied",
    )
    # Cancel-now is the owner's alone.
    assert_error(admin.delete("/api/v1/subscriptions/current"), 403, "permission_denied")
    assert owner_client.delete("/api/v1/subscriptions/current").status_code == 204
    assert_error(owner_client.get("/api/v1/subscriptions/current"), 404, "no_subscription")


def test_cancel_at_period_end_and_resume(catalog, owner_client, stripe_client):
    body = subscribe(owner_client, plan_id="starter", payment_method="pm_card_visa")
    canceled = owner_client.put(
        "/api/v1/subscriptions/current", {"cancel_at_period_end": True}, format="json"
    )
    assert canceled.status_code == 200 and canceled.json()["cancel_at_period_end"] is True
    assert (
        stripe_client.v1.subscriptions.retrieve(body["subscription_id"]).cancel_at_period_end
        is True
    )
    resumed = owner_client.put(
        "/api/v1/subscriptions/current", {"cancel_at_period_end": False}, format="json"
    )
    assert resumed.json()["cancel_at_period_end"] is False and resumed.json()["status"] == "active"
    assert (
        stripe_client.v1.subscriptions.retrieve(body["subscription_id"]).cancel_at_period_end
        is False
    )


def test_upgrade_preview_equals_the_invoiced_proration(
    catalog, owner_client, tenant, stripe_client
):
    from subscriptions.services.clocks import test_clock_advance

    body = subscribe(owner_client, plan_id="starter", payment_method="pm_card_visa")
    test_clock_advance(tenant=tenant, days=10)
    preview = owner_client.post(
        "/api/v1/subscriptions/current/preview", {"plan_id": "professional"}, format="json"
    )
    assert preview.status_code == 200, preview.content
    preview = preview.json()
    assert preview["currency"] == "usd" and preview["next_invoice_total"] == "99.00"
    assert any(line["proration"] for line in preview["lines"])
    assert "0.00" < preview["amount_due_now"] < "99.00"  # the unused starter time is credited
    changed = owner_client.put(
        "/api/v1/subscriptions/current", {"plan_id": "professional"}, format="json"
    )
    assert changed.status_code == 200 and changed.json()["plan_id"] == "professional"
    invoice = stripe_client.v1.invoices.retrieve(changed.json()["latest_invoice_id"])
    assert invoice.id != body["latest_invoice_id"]
    from billing_project.money import to_major

    assert (
        to_major(invoice.amount_due, "usd") == preview["amount_due_now"]
        and invoice.status == "paid"
    )


def test_downgrade_happens_at_period_end(catalog, owner_client, tenant, stripe_client):
    from subscriptions.selectors import entitlements_get
    from subscriptions.services.clocks import test_clock_advance

    subscribe(owner_client, plan_id="professional", payment_method="pm_card_visa")
    preview = owner_client.post(
        "/api/v1/subscriptions/current/preview", {"plan_id": "starter"}, format="json"
    ).json()
    assert preview["amount_due_now"] == "0.00" and preview["effective"] == "period_end"
    assert preview["next_invoice_total"] == "29.00"
    changed = owner_client.put(
        "/api/v1/subscriptions/current", {"plan_id": "starter"}, format="json"
    ).json()
    assert (
        changed["plan_id"] == "professional" and changed["scheduled_change"]["plan_id"] == "starter"
    )
    assert entitlements_get(tenant=tenant).plan.code == "professional"
    test_clock_advance(tenant=tenant, days=32)
    assert entitlements_get(tenant=tenant).plan.code == "starter"
    invoices = stripe_client.v1.invoices.list(
        params={"subscription": changed["subscription_id"]}
    ).data
    assert invoices[0].amount_due == 2900  # the renewal bills the new, smaller plan


def test_cross_tenant_and_unknown_plan(catalog, owner_client, other_client):
    assert_error(
        owner_client.post("/api/v1/subscriptions", {"plan_id": "nope"}, format="json"),
        400,
        "plan_not_found",
    )
    subscribe(other_client, plan_id="starter", payment_method="pm_card_visa")
    assert_error(owner_client.get("/api/v1/subscriptions/current"), 404, "no_subscription")
