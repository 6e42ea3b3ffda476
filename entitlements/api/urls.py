"""API routes of the entitlements app, mounted under /api/v1/ (the check, `entitlements/check`,
is the usage app's route: `?resource=` for limits, `?feature=` for features)."""

from django.urls import path

from entitlements.api import views

urlpatterns: list = [
    path("entitlements", views.EntitlementsApi.as_view(), name="entitlements"),
]
