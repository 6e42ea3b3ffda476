"""API routes of the webhooks app, mounted under /api/v1/."""

from django.urls import path

from webhooks.api import views

urlpatterns = [
    path("webhook-endpoints", views.EndpointListApi.as_view(), name="webhook-endpoints"),
    path(
        "webhook-endpoints/<str:endpoint_id>",
        views.EndpointDetailApi.as_view(),
        name="webhook-endpoint",
    ),
    path(
        "webhook-endpoints/<str:endpoint_id>/rotate-secret",
        views.EndpointRotateSecretApi.as_view(),
        name="webhook-endpoint-rotate-secret",
    ),
    path(
        "webhook-endpoints/<str:endpoint_id>/test",
        views.EndpointTestApi.as_view(),
        name="webhook-endpoint-test",
    ),
    path(
        "webhook-endpoints/<str:endpoint_id>/replay",
        views.EndpointReplayApi.as_view(),
        name="webhook-endpoint-replay",
    ),
    path(
        "webhook-endpoints/<str:endpoint_id>/deliveries",
        views.DeliveryListApi.as_view(),
        name="webhook-deliveries",
    ),
    path(
        "webhook-endpoints/<str:endpoint_id>/deliveries/<str:delivery_id>/retry",
        views.DeliveryRetryApi.as_view(),
        name="webhook-delivery-retry",
    ),
    path("events", views.EventListApi.as_view(), name="events"),
    path("events/<str:event_id>", views.EventDetailApi.as_view(), name="event"),
]
