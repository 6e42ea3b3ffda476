from django.apps import AppConfig


class EntitlementsConfig(AppConfig):
    """Feature entitlements: the catalog of boolean features (key, display names in en, pt-BR and
    es) that plans grant by key (`Plan.feature_keys`). Public schema."""

    name = "entitlements"
    verbose_name = "Feature entitlements"
    default_auto_field = "django.db.models.BigAutoField"
