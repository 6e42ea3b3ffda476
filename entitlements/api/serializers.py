from rest_framework import serializers


class FeatureOutput(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField(help_text="In the request's language (Accept-Language).")
    names = serializers.DictField(child=serializers.CharField(), help_text="en, pt-br, es")
    enabled = serializers.BooleanField()


class EntitlementsOutput(serializers.Serializer):
    plan_id = serializers.CharField(allow_null=True)
    features = FeatureOutput(many=True)
    limits = serializers.DictField(
        child=serializers.CharField(allow_null=True),
        help_text="Per resource a decimal string, null when unlimited.",
    )


class FeatureCheckOutput(serializers.Serializer):
    feature = serializers.CharField()
    allowed = serializers.BooleanField()
    plan_id = serializers.CharField(allow_null=True)
