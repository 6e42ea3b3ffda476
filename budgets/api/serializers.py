from rest_framework import serializers

from billing_project.api.fields import MoneyField, MoneyString, StrictSerializer


class BudgetInput(StrictSerializer):
    amount = MoneyString(
        help_text='The monthly budget: decimal string in major units of `currency`, e.g. "500.00".'
    )
    currency = serializers.RegexField(
        r"^[a-z]{3}$", help_text="Lower-case ISO 4217 code: the currency the tenant is billed in."
    )
    hard_cap = serializers.BooleanField(
        help_text="Once spent reaches amount, usage ingest and entitlement checks answer 402 "
        "budget_exceeded until the next billing period."
    )


class BudgetAlertOutput(serializers.Serializer):
    threshold = serializers.IntegerField(help_text="50, 80 or 100 (percent of the budget).")
    spent = MoneyField(help_text="Spent when the threshold was reached.")
    sent_at = serializers.DateTimeField()


class BudgetOutput(serializers.Serializer):
    amount = MoneyField()
    currency = serializers.CharField()
    hard_cap = serializers.BooleanField()
    capped = serializers.BooleanField(
        help_text="Whether the hard cap holds now (usage and entitlement checks are refused)."
    )
    spent = MoneyField(
        help_text="This period's subscription charge plus usage charges so far (before "
        "discounts and prepaid credit)."
    )
    projected = MoneyField(
        help_text="Subscription charge plus the usage charge of usage so far * period length / "
        "elapsed (the linear forecast to the period's end)."
    )
    period_start = serializers.DateTimeField()
    period_end = serializers.DateTimeField()
    alerts_sent = BudgetAlertOutput(many=True, help_text="Thresholds reached this period.")
