"""URLs of a tenant's host (<slug>.<BASE_DOMAIN>): the self-service portal."""

from django.contrib.auth import views as auth_views
from django.urls import path

from tenants import views

urlpatterns = [
    path("", views.portal_home, name="portal-home"),
    path("accounts/set-password/<uidb64>/<token>/", auth_views.PasswordResetConfirmView.as_view(),
         name="password_reset_confirm"),
    path("accounts/set-password/done/", auth_views.PasswordResetCompleteView.as_view(),
         name="password_reset_complete"),
]
