"""The built-in meters of the seed's resource types (the template schema carries them to every tenant)."""

from django.db import migrations

BUILT_IN = [
    {
        "code": "api_calls",
        "display_name": "API calls",
        "unit": "requests",
        "aggregation": "sum",
        "unique_property": "",
        "stripe_event_name": "api_calls",
    },
    {
        "code": "storage_gb",
        "display_name": "Storage",
        "unit": "GB",
        "aggregation": "max",
        "unique_property": "",
        "stripe_event_name": "",
    },
    {
        "code": "users",
        "display_name": "Users",
        "unit": "users",
        "aggregation": "unique_count",
        "unique_property": "user_id",
        "stripe_event_name": "",
    },
]


def seed(apps, schema_editor):
    Meter = apps.get_model("usage", "Meter")
    for meter in BUILT_IN:
        Meter.objects.update_or_create(code=meter["code"], defaults=meter)


def unseed(apps, schema_editor):
    apps.get_model("usage", "Meter").objects.filter(code__in=[m["code"] for m in BUILT_IN]).delete()


class Migration(migrations.Migration):
    dependencies = [("usage", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
