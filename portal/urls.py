"""Portal pages on a tenant's host (included by billing_project.urls_tenant)."""

from django.urls import include, path

from budgets import views as budget_views
from commitments import views as commitments_views
from credits import views as credits_views
from portal import subscribe_views, views

app_name = "portal"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("password-reset/", views.PasswordResetView.as_view(), name="password-reset"),
    path("password-reset/sent/", views.PasswordResetDoneView.as_view(), name="password-reset-done"),
    path("plans/", views.plans, name="plans"),
    path(
        "plans/cancel/",
        views.subscription_cancel_at_period_end,
        {"cancel": True},
        name="plan-cancel",
    ),
    path(
        "plans/resume/",
        views.subscription_cancel_at_period_end,
        {"cancel": False},
        name="plan-resume",
    ),
    path("plans/<slug:plan_id>/change/", views.plan_change, name="plan-change"),
    path("subscribe/", subscribe_views.subscribe, name="subscribe"),
    path("subscribe/<slug:plan_id>/", subscribe_views.subscribe_plan, name="subscribe-plan"),
    path("payment-methods/", views.payment_methods, name="payment-methods"),
    path("payment-methods/add/", views.payment_method_add, name="payment-method-add"),
    # SEPA Direct Debit, PayPal and billing details (portal.self_service_urls)
    path("", include("portal.self_service_urls")),
    path(
        "payment-methods/<str:payment_method_id>/default/",
        views.payment_method_default,
        name="payment-method-default",
    ),
    path(
        "payment-methods/<str:payment_method_id>/remove/",
        views.payment_method_remove,
        name="payment-method-remove",
    ),
    path("invoices/", views.invoices, name="invoices"),
    path("invoices/<str:invoice_id>/", views.invoice_detail, name="invoice-detail"),
    path("invoices/<str:invoice_id>/pdf/", views.invoice_pdf, name="invoice-pdf"),
    # No login: the signed, expiring link of the invoice emails to billing contacts (not members).
    path("invoice-pdf/<str:token>/", views.invoice_pdf_link, name="invoice-pdf-link"),
    path("invoices/<str:invoice_id>/pay/", views.invoice_pay, name="invoice-pay"),
    path(
        "invoices/<str:invoice_id>/confirm-payment/",
        subscribe_views.payment_confirm,
        name="payment-confirm",
    ),
    path(
        "invoices/<str:invoice_id>/confirm-payment/done/",
        subscribe_views.payment_confirm_done,
        name="payment-confirm-done",
    ),
    path("coupon/", views.coupon, name="coupon"),
    path("credits/", credits_views.credits_page, name="credits"),
    path("credits/top-up/", credits_views.credits_top_up, name="credits-top-up"),
    path("credits/settings/", credits_views.credits_settings, name="credits-settings"),
    path("budget/", budget_views.budget_page, name="budget"),
    path("budget/save/", budget_views.budget_save, name="budget-save"),
    path("budget/remove/", budget_views.budget_remove, name="budget-remove"),
    path("commitments/", commitments_views.commitments_page, name="commitments"),
    path("notifications/", views.notifications, name="notifications"),
    path(
        "notifications/<int:notification_id>/read/",
        views.notification_read,
        name="notification-read",
    ),
    path("team/", views.team, name="team"),
    path("team/<int:membership_id>/remove/", views.team_remove, name="team-remove"),
    path("api-keys/", views.api_keys, name="api-keys"),
    path("api-keys/<uuid:api_key_id>/revoke/", views.api_key_revoke, name="api-key-revoke"),
    path("", include("webhooks.portal_urls")),
]
