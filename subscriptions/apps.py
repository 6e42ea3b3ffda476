from django.apps import AppConfig


class SubscriptionsConfig(AppConfig):
    """Plan catalog (plans, prices, features, limits) and subscriptions through Stripe. Public schema."""

    name = "subscriptions"
    verbose_name = "Subscriptions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from billing_project.stripe_gateway.client import configure_global_stripe
        from subscriptions import handlers, signals  # noqa: F401  (Stripe webhook handlers; catalog cache invalidation)
        from subscriptions.services.customers import customer_create_on_provision
        from tenants.services.provisioning import TENANT_CREATED_HOOKS

        # dj-stripe's own calls go through the global stripe module: same API as our client.
        configure_global_stripe()
        if customer_create_on_provision not in TENANT_CREATED_HOOKS:
            TENANT_CREATED_HOOKS.append(customer_create_on_provision)
