"""Input/Output serializers of the usage API (inputs are parsed by usage.validation; these describe
them in the OpenAPI schema and render outputs)."""

from rest_framework import serializers

from billing_project.api.fields import FlatOutput, Output, QuantityField, StrictSerializer
from usage.validation import MAX_PROPERTIES_BYTES, MAX_PROPERTIES_DEPTH

# Named in settings.SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"] (other `status` enums exist).
USAGE_STATUS_CHOICES = [("ok", "ok"), ("warning", "warning"), ("exceeded", "exceeded")]
BATCH_STATUS_CHOICES = [
    ("accepted", "accepted"),
    ("duplicate", "duplicate"),
    ("rejected", "rejected"),
]


class UsageEventInput(StrictSerializer):
    resource_type = serializers.CharField(
        help_text="A meter's code: api_calls, storage_gb, users or a custom one."
    )
    quantity = QuantityField(help_text="Decimal string (or JSON number) >= 0.")
    unit = serializers.CharField(required=False, help_text="Defaults to the meter's unit.")
    period_start = serializers.DateTimeField(
        help_text="At most 5 minutes in the future; UTC when no offset."
    )
    period_end = serializers.DateTimeField(
        required=False, help_text=">= period_start; defaults to period_start."
    )
    source = serializers.CharField(required=False, help_text='Defaults to "api".')  # type: ignore[assignment]  # the API's field `source`; DRF's metaclass moves declared fields off the class
    transaction_id = serializers.CharField(
        required=False, help_text="Unique per tenant: a repeat counts once."
    )
    properties = serializers.JSONField(
        required=False,
        help_text=f"Free JSON object (users: user_id): at most {MAX_PROPERTIES_DEPTH} levels deep and "
        f"{MAX_PROPERTIES_BYTES // 1024} KB as compact UTF-8 JSON; no NUL character "
        "(\\u0000) in its keys or strings.",
    )


class UsageEventOutput(FlatOutput):
    event_id = serializers.CharField()
    resource_type = serializers.CharField()
    quantity = QuantityField()
    unit = serializers.CharField()
    period_start = serializers.DateTimeField()
    period_end = serializers.DateTimeField()
    source = serializers.CharField()  # type: ignore[assignment]  # the API's field `source`; DRF's metaclass moves declared fields off the class
    transaction_id = serializers.CharField(allow_null=True)
    properties = serializers.JSONField()
    late = serializers.BooleanField(
        help_text="Its billing period was already invoiced; billed on the next invoice."
    )
    billing_period_start = serializers.DateTimeField(
        help_text="Start of the billing period it counts in."
    )
    received_at = serializers.DateTimeField()


class UsageBatchInput(StrictSerializer):
    events = UsageEventInput(many=True, help_text="1 to 1,000 events.")


class UsageBatchResultOutput(Output):
    index = serializers.IntegerField()
    status = serializers.ChoiceField(choices=BATCH_STATUS_CHOICES)
    event_id = serializers.CharField(allow_null=True)
    error = serializers.JSONField(
        allow_null=True, help_text="The API's error object for a rejected event."
    )


class UsageBatchOutput(Output):
    accepted = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    rejected = serializers.IntegerField()
    results = UsageBatchResultOutput(many=True)


class UsageSummaryOutput(FlatOutput):
    resource_type = serializers.CharField()
    used = QuantityField()
    limit = QuantityField(
        allow_null=True, help_text="Decimal string like `used`; null when unlimited."
    )
    percent = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    unit = serializers.CharField()
    status = serializers.ChoiceField(choices=USAGE_STATUS_CHOICES)
    period_start = serializers.DateTimeField()
    period_end = serializers.DateTimeField()


class EntitlementCheckOutput(Output):
    allowed = serializers.BooleanField()
    remaining = QuantityField(allow_null=True, help_text="null when unlimited")
    limit = QuantityField(
        allow_null=True, help_text="Decimal string like `used`; null when unlimited."
    )
    used = QuantityField()
