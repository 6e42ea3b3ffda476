from django.apps import AppConfig


class InvoicingConfig(AppConfig):
    """Invoice documents (branded PDFs), payment retries, refunds and credit notes. Tenant schema."""

    name = "invoicing"
    verbose_name = "Invoicing"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Stripe's invoice and customer events reach invoicing through the one webhook endpoint.
        from invoicing.handlers import on_event
        from subscriptions.services.webhooks import webhook_handler_register

        webhook_handler_register(on_event)
