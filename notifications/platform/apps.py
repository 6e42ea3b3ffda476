from django.apps import AppConfig


class PlatformNotificationsConfig(AppConfig):
    """The platform-wide side of notifications (public schema): the finance team's Slack channel."""

    name = "notifications.platform"
    label = "notifications_platform"
    verbose_name = "Notifications (platform)"
    default_auto_field = "django.db.models.BigAutoField"
