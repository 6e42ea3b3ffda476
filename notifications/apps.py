from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    """Email, Slack and in-app notifications of billing events. Tenant schema."""

    name = "notifications"
    verbose_name = "Notifications"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from notifications.events import billing_event_subscribe
        from notifications.services import on_billing_event

        billing_event_subscribe("*", on_billing_event)
