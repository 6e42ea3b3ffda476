from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    """Email, Slack and in-app notifications of billing events. Tenant schema."""

    name = "notifications"
    verbose_name = "Notifications"
    default_auto_field = "django.db.models.BigAutoField"
