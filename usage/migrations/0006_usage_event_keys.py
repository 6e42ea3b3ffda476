from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("usage", "0005_collector_platform"),
    ]

    operations = [
        migrations.CreateModel(
            name="UsageEventKey",
            fields=[
                ("key", models.CharField(max_length=257, primary_key=True, serialize=False)),
                ("idempotency_key", models.CharField(blank=True, max_length=255, null=True)),
                (
                    "event_pk",
                    models.BigIntegerField(help_text="the event's id (with period_start: its row)"),
                ),
                ("event_id", models.UUIDField()),
                (
                    "period_start",
                    models.DateTimeField(help_text="the event's, to find its partition"),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("idempotency_key__isnull", False)),
                        fields=("idempotency_key",),
                        name="usage_event_key_idempotency_key_unique",
                    ),
                ],
            },
        ),
    ]
