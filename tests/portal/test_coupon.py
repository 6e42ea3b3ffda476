"""Coupon: a member who may write enters a code and sees the discount it gives."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture
def coupon_save20(subscribed):
    from coupons.services import coupon_create

    return coupon_create(code="SAVE20", name="Save 20", percent_off=20)


def test_a_code_applies_to_the_subscription_and_shows_the_discount(
    admin_portal, coupon_save20, tenant
):
    from coupons.models import CouponRedemption

    response = admin_portal.post("/coupon/", {"code": "save20"}, follow=True)
    assert "SAVE20 applied to your subscription: 20% off, once." in response.content.decode()
    assert CouponRedemption.objects.filter(
        tenant=tenant, coupon=coupon_save20, status="applied"
    ).exists()


def test_an_unknown_code_is_a_field_error(owner_portal, subscribed):
    response = owner_portal.post("/coupon/", {"code": "NOPE"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "No such coupon." in html and 'class="alert error"' in html


def test_a_viewer_cannot_apply_a_coupon(viewer_portal):
    assert (
        "Owners and billing admins can apply a coupon."
        in viewer_portal.get("/coupon/").content.decode()
    )
    assert viewer_portal.post("/coupon/", {"code": "SAVE20"}).status_code == 403
