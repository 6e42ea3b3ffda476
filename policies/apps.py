from django.apps import AppConfig


class PoliciesConfig(AppConfig):
    """Platform-wide billing policies edited by finance in the admin (public schema)."""

    name = "policies"
    verbose_name = "Billing policies"
    default_auto_field = "django.db.models.BigAutoField"
