from django.apps import AppConfig


class UsageConfig(AppConfig):
    """Usage metering: events, rollups, limits and alerts. Tenant schema."""

    name = "usage"
    verbose_name = "Usage"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from usage import signals  # noqa: F401  (the meters cache's receivers)
