from django.apps import AppConfig


class CreditsConfig(AppConfig):
    """Prepaid credits: a wallet per tenant and currency, its grants and ledger. Public schema (the
    finance admin grants credit from the public host; every query filters by the tenant)."""

    name = "credits"
    verbose_name = "Prepaid credits"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from credits import handlers  # noqa: F401 -- registers the Stripe webhook handlers
