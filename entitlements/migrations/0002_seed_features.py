"""The seed's features as keys: the catalog and what each seed plan grants. The seed's feature lists
("All Starter", "Priority support") are marketing text; each line maps to keys, and "All <plan>"
inherits that plan's keys."""

from django.db import migrations

FEATURES = [
    ("basic_features", "Basic features", "Recursos básicos", "Funciones básicas"),
    ("community_support", "Community support", "Suporte da comunidade", "Soporte de la comunidad"),
    ("email_support", "Email support", "Suporte por e-mail", "Soporte por correo electrónico"),
    ("priority_support", "Priority support", "Suporte prioritário", "Soporte prioritario"),
    ("support_24_7", "24/7 support", "Suporte 24/7", "Soporte 24/7"),
    ("sso", "Single sign-on (SSO)", "Login único (SSO)", "Inicio de sesión único (SSO)"),
]
# The seed's text -> keys ("All <plan>" -> that plan's keys, resolved in plan order).
TEXT_KEYS = {
    "Basic features": ["basic_features"],
    "Community support": ["community_support"],
    "Email support": ["email_support"],
    "Priority support": ["priority_support"],
    "24/7 support": ["support_24_7", "sso"],
}
PLAN_ORDER = ["free", "starter", "professional", "enterprise"]


def seed(apps, schema_editor):
    Feature = apps.get_model("entitlements", "Feature")
    Plan = apps.get_model("subscriptions", "Plan")
    for position, (key, en, pt, es) in enumerate(FEATURES):
        Feature.objects.update_or_create(
            key=key, defaults={"name_en": en, "name_pt_br": pt, "name_es": es, "position": position}
        )
    keys_of: dict[str, list[str]] = {}
    for code in PLAN_ORDER:
        plan = Plan.objects.filter(code=code).first()
        if plan is None:
            continue
        keys: list[str] = []
        for text in plan.features or []:
            inherited = text.removeprefix("All ").lower()
            found = keys_of.get(inherited) if text.startswith("All ") else TEXT_KEYS.get(text)
            keys += [key for key in found or [] if key not in keys]
        keys_of[code] = keys
        if not plan.feature_keys:
            plan.feature_keys = keys
            plan.save(update_fields=["feature_keys"])


def unseed(apps, schema_editor):
    apps.get_model("entitlements", "Feature").objects.filter(
        key__in=[key for key, *_ in FEATURES]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("entitlements", "0001_initial"),
        ("subscriptions", "0009_plan_feature_keys"),
    ]
    operations = [migrations.RunPython(seed, unseed)]
