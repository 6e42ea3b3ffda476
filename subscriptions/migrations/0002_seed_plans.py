"""The seed's four plans. Reversible: unapplying removes exactly these plans."""

from django.db import migrations

PLANS = [
    {
        "code": "free",
        "name": "Free",
        "description": "Try the platform with basic features.",
        "price_monthly": 0,
        "price_yearly": 0,
        "features": ["Basic features", "Community support"],
        "limits": {"api_calls": 1000, "storage_gb": 1, "users": 2},
    },
    {
        "code": "starter",
        "name": "Starter",
        "description": "Perfect for small teams.",
        "price_monthly": 2900,
        "price_yearly": 29000,
        "features": ["All Free", "Email support"],
        "limits": {"api_calls": 10000, "storage_gb": 50, "users": 5},
    },
    {
        "code": "professional",
        "name": "Professional",
        "description": "For growing businesses.",
        "price_monthly": 9900,
        "price_yearly": 99000,
        "features": ["All Starter", "Priority support"],
        "limits": {"api_calls": 100000, "storage_gb": 500, "users": 25},
    },
    {
        "code": "enterprise",
        "name": "Enterprise",
        "description": "For large organisations.",
        "price_monthly": 29900,
        "price_yearly": 299000,
        "features": ["All Professional", "24/7 support"],
        "limits": {"api_calls": 1000000, "storage_gb": 5000, "users": None},
    },
]


def seed(apps, schema_editor):
    Plan = apps.get_model("subscriptions", "Plan")
    for plan in PLANS:
        Plan.objects.update_or_create(code=plan["code"], defaults={**plan, "currency": "usd"})


def unseed(apps, schema_editor):
    apps.get_model("subscriptions", "Plan").objects.filter(
        code__in=[p["code"] for p in PLANS]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("subscriptions", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
