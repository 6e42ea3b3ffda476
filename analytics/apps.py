from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "analytics"
    verbose_name = "Finance analytics"

    def ready(self):
        # Registers the fact keepers (@stripe_webhook) after subscriptions' and invoicing's handlers
        # (INSTALLED_APPS order), so a subscription event is read after the account was resynced.
        from analytics import handlers  # noqa: F401
