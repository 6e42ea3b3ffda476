from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("usage", "0005_collector_platform"),
    ]

    operations = [
        migrations.CreateModel(
            name="UsageEventKey",
            fields=[
                ("event_id", models.UUIDField(primary_key=True, serialize=False)),
                (
                    "period_start",
                    models.DateTimeField(help_text="the event's, to find its partition"),
                ),
                ("transaction_id", models.CharField(blank=True, max_length=255, null=True)),
                ("idempotency_key", models.CharField(blank=True, max_length=255, null=True)),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("transaction_id__isnull", False)),
                        fields=("transaction_id",),
                        name="usage_event_key_transaction_id_unique",
                    ),
                    models.UniqueConstraint(
                        condition=models.Q(("idempotency_key__isnull", False)),
                        fields=("idempotency_key",),
                        name="usage_event_key_idempotency_key_unique",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("transaction_id__isnull", False))
                        | models.Q(("idempotency_key__isnull", False)),
                        name="usage_event_key_has_a_key",
                    ),
                ],
            },
        ),
    ]
