"""Portal pages of the webhooks app, included by portal/urls.py (names in the `portal` namespace)."""

from django.urls import path

from webhooks import views

urlpatterns = [
    path("webhooks/", views.endpoints, name="webhooks"),
    path("webhooks/<str:endpoint_id>/", views.endpoint_detail, name="webhook-endpoint"),
    path("webhooks/<str:endpoint_id>/test/", views.endpoint_test, name="webhook-endpoint-test"),
    path(
        "webhooks/<str:endpoint_id>/toggle/", views.endpoint_toggle, name="webhook-endpoint-toggle"
    ),
    path(
        "webhooks/<str:endpoint_id>/rotate/", views.endpoint_rotate, name="webhook-endpoint-rotate"
    ),
    path(
        "webhooks/<str:endpoint_id>/delete/", views.endpoint_delete, name="webhook-endpoint-delete"
    ),
    path(
        "webhooks/<str:endpoint_id>/replay/", views.endpoint_replay, name="webhook-endpoint-replay"
    ),
    path(
        "webhooks/<str:endpoint_id>/deliveries/<str:delivery_id>/retry/",
        views.delivery_retry,
        name="webhook-delivery-retry",
    ),
]
