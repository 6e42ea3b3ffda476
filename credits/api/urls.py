"""API routes of the credits app, mounted under /api/v1/."""

from django.urls import path

from credits.api import views

urlpatterns: list = [
    path("credits", views.CreditsApi.as_view(), name="credits"),
    path("credits/ledger", views.CreditLedgerApi.as_view(), name="credit-ledger"),
    path("credits/top-ups", views.TopUpApi.as_view(), name="credit-top-ups"),
    path("credits/settings", views.CreditSettingsApi.as_view(), name="credit-settings"),
]
