"""URLs of the public host: API, admin, docs, password set/reset."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from billing_project.admin_login import ThrottledAdminLoginForm
from billing_project.api.docs import OfflineRedocView

api_v1 = [
    path("", include("tenants.api.urls")),
    path("", include("billing_details.api.urls")),
    path("", include("subscriptions.api.urls")),
    path("", include("coupons.api.urls")),
    path("", include("credits.api.urls")),
    path("", include("budgets.api.urls")),
    path("", include("commitments.api.urls")),
    path("", include("entitlements.api.urls")),
    path("", include("invoicing.api.urls")),
    path("", include("usage.api.urls")),
    path("", include("notifications.api.urls")),
    path("", include("analytics.api.urls")),
    path("", include("webhooks.api.urls")),
]

# The admin's sign-in counts in the login throttle of the API and the portal (issue 14).
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
