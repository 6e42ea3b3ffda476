from django.urls import path

from subscriptions.api import views

urlpatterns = [
    path("plans", views.PlanListApi.as_view(), name="plans"),
    path("plans/<str:plan_id>", views.PlanDetailApi.as_view(), name="plan-detail"),
    path("subscriptions", views.SubscriptionCreateApi.as_view(), name="subscription-create"),
    path(
        "subscriptions/current", views.SubscriptionCurrentApi.as_view(), name="subscription-current"
    ),
    path(
        "subscriptions/current/preview",
        views.SubscriptionPreviewApi.as_view(),
        name="subscription-preview",
    ),
    path("webhooks/stripe", views.StripeWebhookApi.as_view(), name="stripe-webhook"),
    path("payment-methods", views.PaymentMethodListApi.as_view(), name="payment-methods"),
    path("payment-methods/setup-intent", views.SetupIntentCreateApi.as_view(), name="setup-intent"),
    path(
        "payment-methods/<str:payment_method_id>/default",
        views.PaymentMethodDefaultApi.as_view(),
        name="payment-method-default",
    ),
    path(
        "payment-methods/<str:payment_method_id>",
        views.PaymentMethodDetailApi.as_view(),
        name="payment-method-detail",
    ),
]
