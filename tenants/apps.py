from django.apps import AppConfig


class TenantsConfig(AppConfig):
    """Tenants (billed organisations), domains, users, memberships, API keys, audit log. Public schema."""

    name = "tenants"
    verbose_name = "Tenants"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from tenants import signals  # noqa: F401  (receivers)
