from rest_framework import serializers

from billing_project.api.fields import MoneyField


class TrueUpOutput(serializers.Serializer):
    period_start = serializers.DateTimeField()
    period_end = serializers.DateTimeField()
    currency = serializers.CharField()
    committed = MoneyField()
    spent = MoneyField(help_text="Subscription and usage charges of the period after discounts.")
    amount = MoneyField(help_text="The true-up billed on the renewal invoice.")
    invoice_id = serializers.CharField()


class ThresholdInvoiceOutput(serializers.Serializer):
    invoice_id = serializers.CharField(allow_null=True, source="invoice_or_none")
    period_start = serializers.DateTimeField()
    currency = serializers.CharField()
    amount = MoneyField(help_text="Usage charges this invoice billed.")
    issued_at = serializers.DateTimeField()


class CommitmentsOutput(serializers.Serializer):
    currency = serializers.CharField()
    minimum_commitment = MoneyField(
        allow_null=True, help_text="Minimum spend per billing period; null: none."
    )
    usage_threshold = MoneyField(
        allow_null=True,
        help_text="Usage charges not billed yet that trigger an invoice mid-period; null: none.",
    )
    period_start = serializers.DateTimeField(allow_null=True)
    period_end = serializers.DateTimeField(allow_null=True)
    spent = MoneyField(
        allow_null=True,
        help_text="This period's subscription and usage charges after discounts so far "
        "(null without a live subscription or any term).",
    )
    usage = MoneyField(allow_null=True, help_text="This period's usage charges so far.")
    true_ups = TrueUpOutput(many=True)
    threshold_invoices = ThresholdInvoiceOutput(many=True)
