from django.apps import AppConfig


class InvoicingConfig(AppConfig):
    """Invoice documents (branded PDFs), payment retries, refunds and credit notes. Tenant schema."""

    name = "invoicing"
    verbose_name = "Invoicing"
    default_auto_field = "django.db.models.BigAutoField"
