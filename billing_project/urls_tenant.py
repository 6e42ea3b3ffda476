"""URLs of a tenant's host (<slug>.<BASE_DOMAIN>): the self-service portal."""

from django.contrib.auth import views as auth_views
from django.urls import include, path

urlpatterns = [
    path("", include("portal.urls")),
    # Django's set_language view: POST language + next, remembered in a cookie of this host.
    path("i18n/", include("django.conf.urls.i18n")),
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

# The portal's 404/500 are its own pages (templates/404.html, 500.html); under /api/ the JSON error.
handler404 = "billing_project.api.exceptions.json_404"
handler500 = "billing_project.api.exceptions.json_500"
