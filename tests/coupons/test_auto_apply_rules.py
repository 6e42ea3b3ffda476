"""Auto-apply coupons: one naming no plan applies to every plan (as its help text says), and the
rules are evaluated again on a plan change into an eligible plan."""

import pytest

from tests.coupons.test_coupons import _coupon, _subscribe

pytestmark = pytest.mark.django_db


def test_an_auto_apply_coupon_without_plans_discounts_every_plan(
    catalog, owner_client, other_client, stripe_client
):
    _coupon(code="EVERYONE", percent_off=50, auto_apply=True, duration="forever")
    starter = _subscribe(owner_client, plan_id="starter", payment_method="pm_card_visa")
    pro = _subscribe(other_client, plan_id="professional", payment_method="pm_card_visa")
    assert stripe_client.v1.invoices.retrieve(starter["latest_invoice_id"]).amount_due == (
        catalog["starter"].price_monthly // 2
    )
    assert stripe_client.v1.invoices.retrieve(pro["latest_invoice_id"]).amount_due == (
        catalog["professional"].price_monthly // 2
    )


def test_a_plan_change_into_an_eligible_plan_applies_its_auto_apply_coupon(
    catalog, owner_client, stripe_client, tenant
):
    from coupons.models import CouponRedemption

    _coupon(
        code="PROUPGRADE",
        percent_off=25,
        auto_apply=True,
        duration="forever",
        plans=[catalog["professional"]],
    )
    body = _subscribe(owner_client, plan_id="starter", payment_method="pm_card_visa")
    sub = stripe_client.v1.subscriptions.retrieve(body["subscription_id"])
    assert not sub.discounts  # not a Starter coupon

    changed = owner_client.put(
        "/api/v1/subscriptions/current", {"plan_id": "professional"}, format="json"
    )
    assert changed.status_code == 200, changed.content
    sub = stripe_client.v1.subscriptions.retrieve(body["subscription_id"])
    assert len(sub.discounts) == 1
    redemption = CouponRedemption.objects.get(tenant=tenant, coupon__code="PROUPGRADE")
    assert redemption.subscription_id == body["subscription_id"]

    # Once per tenant: back and forth does not redeem it again.
    owner_client.put(
        "/api/v1/subscriptions/current", {"plan_id": "starter", "when": "now"}, format="json"
    )
    owner_client.put("/api/v1/subscriptions/current", {"plan_id": "professional"}, format="json")
    assert CouponRedemption.objects.filter(tenant=tenant, coupon__code="PROUPGRADE").count() == 1


def test_a_first_subscription_only_campaign_is_not_applied_on_a_plan_change(
    catalog, owner_client, stripe_client, tenant
):
    from coupons.models import CouponRedemption

    _coupon(
        code="NEWONLY",
        percent_off=25,
        auto_apply=True,
        first_subscription_only=True,
        plans=[catalog["professional"]],
    )
    _subscribe(owner_client, plan_id="starter", payment_method="pm_card_visa")
    owner_client.put("/api/v1/subscriptions/current", {"plan_id": "professional"}, format="json")
    assert not CouponRedemption.objects.filter(tenant=tenant, coupon__code="NEWONLY").exists()
