from django.apps import AppConfig


class InvoicingConfig(AppConfig):
    """Invoice documents (branded PDFs), payment retries, refunds and credit notes. Tenant schema."""

    name = "invoicing"
    verbose_name = "Invoicing"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Registers invoicing's Stripe webhook handlers (@stripe_webhook) with the one endpoint.
        from invoicing import handlers, signals  # noqa: F401  (and the billing status cache's receivers)
