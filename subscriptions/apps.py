from django.apps import AppConfig


class SubscriptionsConfig(AppConfig):
    """Plan catalog (plans, prices, features, limits) and subscriptions through Stripe. Public schema."""

    name = "subscriptions"
    verbose_name = "Subscriptions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from subscriptions import signals  # noqa: F401  (catalog cache invalidation)
