from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("usage", "0004_daily_rollups"),
    ]

    operations = [
        migrations.AddField(
            model_name="collector",
            name="platform",
            field=models.BooleanField(
                default=False,
                editable=False,
                help_text="Configured for every tenant by the environment (NETBOX_API_URL, ODOO_API_URL): its URL, "
                "secret and tenant mapping come from the settings, not from this row.",
            ),
        ),
    ]
