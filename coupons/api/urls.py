"""API routes of the coupons app, mounted under /api/v1/."""

from django.urls import path

from coupons.api import views

urlpatterns: list = [
    path("coupons/apply", views.CouponApplyApi.as_view(), name="coupon-apply"),
]
