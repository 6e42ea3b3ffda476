"""API routes of the notifications app, mounted under /api/v1/."""

from django.urls import path

from notifications.api import views

urlpatterns = [
    path("notifications", views.NotificationListApi.as_view(), name="notifications"),
    path(
        "notifications/preferences", views.PreferencesApi.as_view(), name="notification-preferences"
    ),
    path("notifications/test", views.TestNotificationApi.as_view(), name="notification-test"),
    path(
        "notifications/<str:notification_id>/read",
        views.NotificationReadApi.as_view(),
        name="notification-read",
    ),
]
