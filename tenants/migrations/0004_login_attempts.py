"""The login throttle's fallback table while Redis is down (tenants.services.auth.LoginThrottle)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0003_staff_group_permissions"),
    ]

    operations = [
        migrations.CreateModel(
            name="LoginAttempt",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "bucket",
                    models.CharField(
                        help_text="the throttle bucket: per email digest or per IP", max_length=200
                    ),
                ),
                ("token", models.CharField(max_length=32)),
                ("created", models.DateTimeField(db_index=True)),
            ],
            options={
                "indexes": [
                    models.Index(fields=["bucket", "created"], name="login_attempt_bucket_created")
                ],
            },
        ),
    ]
