from django.apps import AppConfig


class BillingDetailsConfig(AppConfig):
    """The buyer's legal details per tenant (legal name, invoice emails, address, tax IDs, PO number,
    invoice language) and the seller's (the platform's) block of the invoice. Public schema."""

    name = "billing_details"
    verbose_name = "Billing details"
    default_auto_field = "django.db.models.BigAutoField"
