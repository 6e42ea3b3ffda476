"""Refund approval thresholds of their own for some currencies: one number of minor units is 500
dollars, but 50,000 yen and 50 Kuwaiti dinars."""

import policies.models
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("policies", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="billingpolicy",
            name="refund_approval_thresholds",
            field=models.JSONField(
                blank=True,
                default=dict,
                help_text='Thresholds of their own for some currencies, in their minor units, e.g. {"jpy": 75000, "kwd": 150000}; {} for none.',
                validators=[policies.models.validate_currency_amounts],
            ),
        ),
        migrations.AlterField(
            model_name="billingpolicy",
            name="refund_approval_threshold",
            field=models.PositiveBigIntegerField(
                help_text="Refunds above this amount (minor units of the invoice's currency) need a second finance user's approval, in the currencies without a threshold of their own (below)."
            ),
        ),
    ]
