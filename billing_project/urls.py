"""URLs of the public host: API, admin, docs, password set/reset."""

from importlib import import_module

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from billing_project.admin_login import ThrottledAdminLoginForm
from billing_project.api.docs import OfflineRedocView

# Each app's API routes, in this order, in one flat list: resolving a path tries them in the same
# order as one include() per app would, without a nested resolver (and its Resolver404) for each
# app that does not match (issue 21: resolving was a sixth of a cached request's own time). No
# app's route matches another app's paths (tests/test_api_conventions.py), so the order of the
# apps only decides how many routes are tried: the usage app's first, whose ingest and entitlement
# check are the most frequent calls (found after 36 others, a single event cost ~15 us more).
API_APPS = [
    "usage",
    "tenants",
    "billing_details",
    "subscriptions",
    "coupons",
    "credits",
    "budgets",
    "commitments",
    "entitlements",
    "invoicing",
    "notifications",
    "analytics",
    "webhooks",
]
api_v1 = [route for app in API_APPS for route in import_module(f"{app}.api.urls").urlpatterns]

admin.site.login_form = ThrottledAdminLoginForm

urlpatterns = [
    path("api/v1/", include(api_v1)),
    # The generator would read ROOT_URLCONF (the tenant portal); the API lives in this urlconf.
    path("api/schema/", SpectacularAPIView.as_view(urlconf="billing_project.urls"), name="schema"),
    path("docs", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema")),
    path("redoc", OfflineRedocView.as_view(url_name="schema"), name="redoc"),
    path("admin/", admin.site.urls),
    # dj-stripe's own webhook endpoint (/stripe/webhook/<uuid>/) keeps its mirror; the product's
    # state follows /api/v1/webhooks/stripe (README: "Subscriptions, coupons and Stripe webhooks").
    path("stripe/", include("djstripe.urls", namespace="djstripe")),
    path(
        "accounts/set-password/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "accounts/set-password/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
]

handler404 = "billing_project.api.exceptions.json_404"
handler500 = "billing_project.api.exceptions.json_500"
