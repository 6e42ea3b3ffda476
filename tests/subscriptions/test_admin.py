"""The finance back-office in the admin, used by the finance staff user against the Stripe emulator:
plans synced to Stripe, subscription actions per tenant, the test clock action on tenants."""

import json
from datetime import timedelta

import pytest

from tests.subscriptions.conftest import admin_action

pytestmark = pytest.mark.django_db

PLANS = "/admin/subscriptions/plan/"
ACCOUNTS = "/admin/subscriptions/billingaccount/"
TENANTS = "/admin/tenants/tenant/"


_before_test = {"last_audit_id": 0}


@pytest.fixture(autouse=True)
def _audit_since_test_start():
    """Only this test's audit rows: tests against a live server (schemathesis, the soak) commit rows
    of their own for the same plans and actions."""
    from django.db.models import Max

    from tenants.models import AuditEvent

    _before_test["last_audit_id"] = AuditEvent.objects.aggregate(last=Max("pk"))["last"] or 0


def _audit(action, **filters):
    from tenants.models import AuditEvent

    return list(
        AuditEvent.objects.filter(
            action=action, pk__gt=_before_test["last_audit_id"], **filters
        ).order_by("created")
    )


def test_finance_staff_can_open_the_back_office_and_support_cannot_change_it(
    finance_admin, support_staff, stripe_on
):
    from django.test import Client

    for page in [
        PLANS,
        ACCOUNTS,
        TENANTS,
        "/admin/subscriptions/webhookevent/",
        "/admin/coupons/coupon/",
        "/admin/coupons/coupon/add/",
        "/admin/djstripe/customer/",
        "/admin/djstripe/subscription/",
    ]:
        assert finance_admin.get(page).status_code == 200, page
    support = Client()
    support.force_login(support_staff)
    # Support reads the catalog (API.md: support reads) but cannot add or change a plan.
    assert support.get(PLANS).status_code == 200
    assert support.get(PLANS + "add/").status_code == 403
    from subscriptions.models import Plan

    starter = Plan.objects.get(code="starter")
    response = support.post(f"{PLANS}{starter.pk}/change/", {"name": "Hacked"})
    assert response.status_code == 403
    assert Plan.objects.get(pk=starter.pk).name != "Hacked"


def test_plan_sync_action_syncs_through_the_catalog_service_and_audits(
    finance_admin, stripe_on, stripe_client
):
    from subscriptions.models import Plan

    starter = Plan.objects.get(code="starter")
    assert (
        "not synced (no product, monthly price, yearly price, overage prices)"
        in finance_admin.get(PLANS).content.decode()
    )
    response = admin_action(finance_admin, PLANS, "sync_to_stripe", [starter])
    assert response.status_code == 302
    starter.refresh_from_db()
    assert starter.stripe_price_id and starter.stripe_price_id_yearly
    assert (
        stripe_client.v1.prices.retrieve(starter.stripe_price_id).unit_amount
        == starter.price_monthly
    )
    page = finance_admin.get(PLANS + "?q=starter").content.decode()
    assert ">synced<" in page
    [audit] = _audit("plan.sync_to_stripe", target="starter")
    assert audit.actor == "finance@platform.test" and audit.before["product"] is None
    assert audit.after["monthly"] == starter.stripe_price_id

    admin_action(
        finance_admin, PLANS, "sync_to_stripe", [starter]
    )  # idempotent: nothing changes, no audit row
    assert len(_audit("plan.sync_to_stripe", target="starter")) == 1
    assert (
        len(stripe_client.v1.prices.list(params={"limit": 100}).data) == 4
    )  # plus the metered overage ones


def test_plan_usage_policy_and_overage_are_edited_in_the_admin(finance_admin, stripe_on):
    from subscriptions.models import Plan

    starter = Plan.objects.get(code="starter")
    page = finance_admin.get(f"{PLANS}{starter.pk}/change/").content.decode()
    for field in (
        "hard_limits",
        "alert_thresholds",
        "overage_resource",
        "overage_unit_amount",
        "overage_block_size",
    ):
        assert f'name="{field}"' in page, field
    assert "$2.00 per 1,000 api_calls above 10,000" in finance_admin.get(PLANS).content.decode()
    form = {
        "code": "starter",
        "name": "Starter",
        "description": "",
        "currency": "usd",
        "price_monthly": "29.00",
        "price_yearly": "290.00",
        "features": '["All Free"]',
        "is_public": "on",
        "is_active": "on",
        "limits": '{"api_calls": 10000, "storage_gb": 50, "users": 5}',
        "hard_limits": '["users"]',
        "alert_thresholds": "[100, 50]",
        "feature_keys": json.dumps(starter.feature_keys),
        "trial_days": str(starter.trial_days),
        "overage_resource": "api_calls",
        "overage_unit_amount": "2.00",
        "overage_block_size": "1000",
    }
    response = finance_admin.post(f"{PLANS}{starter.pk}/change/", form)
    assert (
        response.status_code == 200 and "sorted ascending" in response.content.decode()
    )  # refused
    response = finance_admin.post(
        f"{PLANS}{starter.pk}/change/", {**form, "alert_thresholds": "[50, 90, 120]"}
    )
    assert response.status_code == 302
    starter.refresh_from_db()
    assert starter.hard_limits == ["users"] and starter.alert_thresholds == [50, 90, 120]


def test_subscription_actions_cancel_resume_change_plan_cancel_now(
    finance_admin, catalog, tenant, stripe_client
):
    from subscriptions.models import BillingAccount
    from subscriptions.services.subscriptions import subscription_create

    account, _ = subscription_create(
        tenant=tenant, plan_id="starter", payment_method="pm_card_visa", trial_days=14
    )
    assert finance_admin.get(ACCOUNTS).status_code == 200

    admin_action(finance_admin, ACCOUNTS, "cancel_at_period_end_action", [account])
    account.refresh_from_db()
    assert account.cancel_at_period_end is True
    assert (
        stripe_client.v1.subscriptions.retrieve(account.subscription_id).cancel_at_period_end
        is True
    )

    admin_action(finance_admin, ACCOUNTS, "resume", [account])
    account.refresh_from_db()
    assert account.cancel_at_period_end is False

    page = admin_action(finance_admin, ACCOUNTS, "change_plan", [account])
    assert page.status_code == 200 and 'name="billing_cycle"' in page.content.decode()
    admin_action(
        finance_admin,
        ACCOUNTS,
        "change_plan",
        [account],
        apply="1",
        plan="professional",
        billing_cycle="yearly",
        when="",
    )
    account.refresh_from_db()
    assert account.plan.code == "professional" and account.billing_cycle == "yearly"
    sub = stripe_client.v1.subscriptions.retrieve(account.subscription_id)
    assert sub["items"].data[0].price.id == catalog["professional"].stripe_price_id_yearly

    detail = finance_admin.get(f"{ACCOUNTS}{account.pk}/change/").content.decode()
    assert account.subscription_id in detail  # the dj-stripe mirror shown on the account

    admin_action(finance_admin, ACCOUNTS, "cancel_now", [account])
    account = BillingAccount.objects.get(pk=account.pk)
    assert account.status == "canceled" and not account.is_live
    actions = [
        a.action
        for a in _audit("subscription.cancel_at_period_end")
        + _audit("subscription.resume")
        + _audit("subscription.change_plan")
        + _audit("subscription.cancel_now")
    ]
    assert actions == [
        "subscription.cancel_at_period_end",
        "subscription.resume",
        "subscription.change_plan",
        "subscription.cancel_now",
    ]
    assert {a.actor for a in _audit("subscription.change_plan")} == {"finance@platform.test"}


def test_an_action_on_no_live_subscription_reports_the_error(finance_admin, catalog, other_tenant):
    from subscriptions.services.customers import customer_ensure

    account = customer_ensure(tenant=other_tenant)
    response = admin_action(finance_admin, ACCOUNTS, "cancel_now", [account])
    messages = [str(m) for m in response.wsgi_request._messages]
    assert any("no live subscription" in m for m in messages), messages


def test_advance_test_clock_on_tenants_waits_until_ready_and_the_state_follows(
    finance_admin, catalog, tenant
):
    from subscriptions.models import BillingAccount
    from subscriptions.services.subscriptions import subscription_create

    account, _ = subscription_create(
        tenant=tenant, plan_id="starter", payment_method="pm_card_visa", trial_days=3
    )
    assert account.status == "trialing"
    start = account.clock_time
    page = admin_action(finance_admin, TENANTS, "advance_test_clock", [tenant])
    assert page.status_code == 200 and 'name="days"' in page.content.decode()
    response = admin_action(
        finance_admin, TENANTS, "advance_test_clock", [tenant], apply="1", days="4", hours="0"
    )
    assert response.status_code == 302
    account = BillingAccount.objects.get(pk=account.pk)
    assert account.clock_time >= start + timedelta(days=4)
    assert account.status == "active"  # the trial ended and the first invoice was paid
    [audit] = _audit("stripe.test_clock.advance", tenant=tenant)
    assert audit.actor == "finance@platform.test"


def test_advance_test_clock_form_refuses_zero(finance_admin, catalog, tenant):
    page = admin_action(
        finance_admin, TENANTS, "advance_test_clock", [tenant], apply="1", days="0", hours="0"
    )
    assert page.status_code == 200 and "Advance by at least one hour." in page.content.decode()
