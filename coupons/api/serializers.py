from rest_framework import serializers

from billing_project.api.fields import MoneyField, StrictSerializer


class CouponApplyInput(StrictSerializer):
    code = serializers.CharField(max_length=50)


class CouponApplyOutput(serializers.Serializer):
    code = serializers.CharField()
    percent_off = serializers.IntegerField(required=False)
    amount_off = MoneyField(required=False)
    currency = serializers.CharField(allow_null=True)
    duration = serializers.CharField()
    duration_in_months = serializers.IntegerField(allow_null=True)
    applies_to = serializers.ChoiceField(choices=["current_subscription", "next_subscription"])

    def to_representation(self, instance):
        data = super().to_representation(instance)
        # Exactly one of percent_off / amount_off, as the coupon defines.
        data.pop("amount_off" if instance["percent_off"] is not None else "percent_off", None)
        return data
