"""API routes of the coupons app, mounted under /api/v1/."""

urlpatterns: list = []
