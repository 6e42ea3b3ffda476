from rest_framework import serializers

from billing_project.api.fields import MoneyField
from subscriptions.models import Plan


class PlanOutput(serializers.ModelSerializer):
    plan_id = serializers.CharField(source="code")
    price_monthly = MoneyField()
    price_yearly = MoneyField()
    features = serializers.ListField(child=serializers.CharField())
    limits = serializers.DictField(child=serializers.IntegerField(allow_null=True),
                                   help_text="resource type -> limit per billing period; null = unlimited")

    class Meta:
        model = Plan
        fields = ["plan_id", "name", "description", "price_monthly", "price_yearly", "currency", "features",
                  "limits", "stripe_price_id", "stripe_price_id_yearly"]
