"""Coupons in the admin (finance staff): created through the service and mirrored to Stripe,
disabled, redemptions shown read-only; and the demo coupon WELCOME20 of seed_demo."""

import pytest
from django.core.management import call_command

from tests.subscriptions.conftest import admin_action

pytestmark = pytest.mark.django_db

COUPONS = "/admin/coupons/coupon/"


def test_create_in_the_admin_mirrors_to_stripe_and_audits(finance_admin, catalog, stripe_client):
    from coupons.models import Coupon
    from tenants.models import AuditEvent

    response = finance_admin.post(
        COUPONS + "add/",
        {
            "code": "spring10",
            "name": "Spring",
            "percent_off": "",
            "amount_off": "10.00",  # $10.00, stored in cents
            "currency": "usd",
            "duration": "repeating",
            "duration_in_months": "3",
            "max_redemptions": "5",
            "plans": [catalog["starter"].pk],
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    coupon = Coupon.objects.get(code="SPRING10")
    assert list(coupon.plans.all()) == [catalog["starter"]]
    stripe_coupon = stripe_client.v1.coupons.retrieve(coupon.stripe_coupon_id)
    assert stripe_coupon.amount_off == 1000 and stripe_coupon.duration_in_months == 3
    assert (
        stripe_client.v1.promotion_codes.retrieve(coupon.stripe_promotion_code_id).code
        == "SPRING10"
    )
    assert (
        AuditEvent.objects.get(action="coupon.create", target="SPRING10").actor
        == "finance@platform.test"
    )

    invalid = finance_admin.post(
        COUPONS + "add/",
        {
            "code": "BOTH",
            "name": "x",
            "percent_off": "10",
            "amount_off": "1.00",
            "currency": "usd",
            "duration": "once",
        },
    )
    assert invalid.status_code == 200 and not Coupon.objects.filter(code="BOTH").exists()


def test_stripe_down_creates_nothing_and_says_so(finance_admin, catalog, stripe_on):
    import json
    from urllib.request import Request, urlopen

    from coupons.models import Coupon

    fault = {"path": "/v1/coupons", "method": "POST", "status": 500, "count": 10}
    urlopen(
        Request(
            stripe_on.url + "/_emulator/faults",
            data=json.dumps(fault).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
    ).read()
    response = finance_admin.post(
        COUPONS + "add/",
        {"code": "DOWN", "name": "x", "percent_off": "10", "duration": "once"},
        follow=True,
    )
    assert "Coupon not created" in response.content.decode()
    assert not Coupon.objects.filter(code="DOWN").exists()


def test_disable_deactivates_the_promotion_code_and_redemptions_show_read_only(
    finance_admin, catalog, tenant, stripe_client
):
    from coupons.models import CouponRedemption
    from coupons.services import coupon_create, coupon_redeem

    coupon = coupon_create(code="HALF", name="Half", percent_off=50)
    coupon_redeem(tenant=tenant, code="HALF", status=CouponRedemption.Status.HELD)
    page = finance_admin.get(f"{COUPONS}{coupon.pk}/change/").content.decode()
    assert "Held for the next subscription" in page and 'name="redemptions-0-status"' not in page

    admin_action(finance_admin, COUPONS, "disable", [coupon])
    coupon.refresh_from_db()
    assert coupon.is_active is False
    assert (
        stripe_client.v1.promotion_codes.retrieve(coupon.stripe_promotion_code_id).active is False
    )


def test_seed_demo_twice_leaves_one_welcome20_mirrored_later_when_stripe_was_off(
    stripe_on, settings, stripe_client
):
    from coupons.models import Coupon

    key = settings.STRIPE_API_KEY
    settings.STRIPE_API_KEY = ""  # the seed of `make run` runs before Stripe is up
    call_command("seed_demo")
    coupon = Coupon.objects.get(code="WELCOME20")
    assert coupon.percent_off == 20 and coupon.duration == "once" and not coupon.stripe_coupon_id

    settings.STRIPE_API_KEY = key
    call_command("seed_demo")
    call_command("seed_demo")
    coupon = Coupon.objects.get(code="WELCOME20")
    assert coupon.stripe_promotion_code_id
    codes = stripe_client.v1.promotion_codes.list(params={"code": "WELCOME20", "limit": 100}).data
    assert [c.id for c in codes] == [coupon.stripe_promotion_code_id]
    assert stripe_client.v1.coupons.retrieve(coupon.stripe_coupon_id).percent_off == 20


def test_a_coupon_defined_without_stripe_is_mirrored_on_first_use(
    catalog, owner_client, settings, stripe_client
):
    from coupons.services import coupon_create

    key = settings.STRIPE_API_KEY
    settings.STRIPE_API_KEY = ""
    coupon = coupon_create(code="LATER20", name="Later", percent_off=20)
    settings.STRIPE_API_KEY = key
    body = owner_client.post(
        "/api/v1/subscriptions",
        {"plan_id": "starter", "payment_method": "pm_card_visa", "coupon": "later20"},
        format="json",
    ).json()
    coupon.refresh_from_db()
    assert coupon.stripe_coupon_id
    assert stripe_client.v1.invoices.retrieve(body["latest_invoice_id"]).amount_due == 2320


def test_each_coupon_edit_in_the_admin_writes_one_audit_row_with_before_and_after(
    finance_admin, settings
):
    from coupons.models import Coupon
    from tenants.models import AuditEvent

    settings.STRIPE_API_KEY = ""  # only this service's rows: the Stripe mirror audits its own step
    response = finance_admin.post(
        COUPONS + "add/",
        {"code": "autumn", "name": "Autumn", "percent_off": "15", "duration": "once"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    [created] = AuditEvent.objects.filter(target="AUTUMN")
    assert (created.action, created.before) == ("coupon.create", None)
    assert created.after["percent_off"] == 15 and created.actor == "finance@platform.test"

    admin_action(finance_admin, COUPONS, "disable", [Coupon.objects.get(code="AUTUMN")])
    [disabled] = AuditEvent.objects.filter(target="AUTUMN").exclude(pk=created.pk)
    assert disabled.action == "coupon.disable"
    assert (disabled.before, disabled.after) == ({"is_active": True}, {"is_active": False})
