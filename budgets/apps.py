from django.apps import AppConfig


class BudgetsConfig(AppConfig):
    """Spend budgets: a monthly amount per tenant, alerts at 50/80/100% once per period and an
    optional hard cap on usage. Public schema (every query filters by the tenant)."""

    name = "budgets"
    verbose_name = "Spend budgets"
    default_auto_field = "django.db.models.BigAutoField"
