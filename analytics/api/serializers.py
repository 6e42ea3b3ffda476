"""Query and response shapes of the analytics API (money: decimal strings in major units next to
`currency`; rates: percentages as decimal strings with two places, null when undefined)."""

from datetime import date
from typing import Any

from rest_framework import serializers

from analytics.selectors import MAX_MONTHS, months_between
from billing_project.api.fields import MoneyField, StrictSerializer

RATE: dict[str, Any] = {
    "allow_null": True,
    "help_text": "Percentage, two decimal places; null when undefined.",
}


class AnalyticsQuery(StrictSerializer):
    # `from` is a keyword in Python: the view maps it.
    from_ = serializers.DateField(required=False, help_text="First day (its month is the first).")
    to = serializers.DateField(required=False, help_text="Last day (its month is the last).")
    currency = serializers.RegexField(
        r"^[a-z]{3}$", required=False, help_text="Lower-case ISO code; default: every currency."
    )
    interval = serializers.ChoiceField(choices=["month"], required=False, default="month")

    def to_internal_value(self, data):
        data = {("from_" if key == "from" else key): value for key, value in data.items()}
        return super().to_internal_value(data)

    def validate(self, attrs):
        end = attrs.get("to") or date.today()
        start = attrs.get("from_") or date(end.year - 1, end.month, 1)
        if start > end:
            raise serializers.ValidationError({"from": ["Must not be after `to`."]})
        if len(months_between(start, end)) > MAX_MONTHS:
            raise serializers.ValidationError({"from": [f"At most {MAX_MONTHS} months."]})
        return {**attrs, "start": start, "end": end}


class StatusCounts(serializers.Serializer):
    active = serializers.IntegerField()
    trialing = serializers.IntegerField()
    past_due = serializers.IntegerField()
    canceled = serializers.IntegerField()


class MrrOutput(serializers.Serializer):
    month = serializers.CharField(help_text="YYYY-MM")
    currency = serializers.CharField()
    mrr = MoneyField(help_text="At the end of the month.")
    arr = MoneyField()
    paying_accounts = serializers.IntegerField()
    arpa = MoneyField(allow_null=True)
    usage_revenue = MoneyField(help_text="Metered lines invoiced in the month (apart from MRR).")
    subscriptions = StatusCounts(help_text="Subscriptions by status at the end of the month.")


class MovementCounts(serializers.Serializer):
    new = serializers.IntegerField()
    expansion = serializers.IntegerField()
    contraction = serializers.IntegerField()
    churn = serializers.IntegerField()
    reactivation = serializers.IntegerField()


class MovementOutput(serializers.Serializer):
    month = serializers.CharField(help_text="YYYY-MM")
    currency = serializers.CharField()
    mrr_start = MoneyField()
    new = MoneyField()
    expansion = MoneyField()
    contraction = MoneyField(help_text="Negative.")
    churn = MoneyField(help_text="Negative.")
    reactivation = MoneyField()
    net = MoneyField()
    mrr_end = MoneyField()
    counts = MovementCounts()


class ChurnOutput(serializers.Serializer):
    month = serializers.CharField(help_text="YYYY-MM")
    currency = serializers.CharField()
    mrr_start = MoneyField()
    paying_accounts_start = serializers.IntegerField()
    churned_accounts = serializers.IntegerField()
    churned_mrr = MoneyField()
    contraction_mrr = MoneyField()
    logo_churn_rate = serializers.CharField(**RATE)
    revenue_churn_rate = serializers.CharField(**RATE)
    gross_revenue_retention = serializers.CharField(**RATE)
    net_revenue_retention = serializers.CharField(**RATE)
    trials_ended = serializers.IntegerField()
    trials_converted = serializers.IntegerField()
    trial_conversion_rate = serializers.CharField(**RATE)
    failed_invoices = serializers.IntegerField()
    recovered_invoices = serializers.IntegerField()
    recovery_rate = serializers.CharField(**RATE)
    cash_collected = MoneyField()
    refunds = MoneyField()


class AgeingBucket(serializers.Serializer):
    amount = MoneyField()
    count = serializers.IntegerField()
    currency = serializers.CharField()


class ReceivablesOutput(serializers.Serializer):
    currency = serializers.CharField()
    as_of = serializers.DateField()
    total = MoneyField()
    current = AgeingBucket()
    days_1_30 = AgeingBucket()
    days_31_60 = AgeingBucket()
    days_61_90 = AgeingBucket()
    days_over_90 = AgeingBucket()
