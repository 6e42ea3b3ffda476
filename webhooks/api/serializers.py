"""Input/output shapes of the webhooks API."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from billing_project.api.fields import StrictSerializer
from webhooks import catalogue
from webhooks.models import WebhookDelivery

EVENT_CHOICES = ["*", *catalogue.EVENT_TYPES]
EVENT_TYPE_HELP = "Event types: " + "; ".join(
    f"`{name}`: {text}" for name, text in catalogue.EVENT_TYPES.items()
)


class EndpointCreateInput(StrictSerializer):
    url = serializers.URLField(max_length=2000, help_text="https:// and public (see the README)")
    description = serializers.CharField(max_length=500, required=False, allow_blank=True)
    enabled_events = serializers.ListField(
        child=serializers.ChoiceField(choices=EVENT_CHOICES),
        min_length=1,
        max_length=len(EVENT_CHOICES),
        required=False,
        help_text='["*"] for every event, or a list. ' + EVENT_TYPE_HELP,
    )
    enabled = serializers.BooleanField(required=False, default=True)


class EndpointUpdateInput(EndpointCreateInput):
    url = serializers.URLField(max_length=2000, required=False)
    enabled = serializers.BooleanField(required=False)


class EndpointOutput(serializers.Serializer):
    webhook_endpoint_id = serializers.CharField(source="endpoint_id")
    url = serializers.CharField()
    description = serializers.CharField()
    enabled_events = serializers.ListField(child=serializers.CharField())
    enabled = serializers.BooleanField()
    disabled_reason = serializers.CharField()
    failing_since = serializers.DateTimeField(allow_null=True)
    secret_rotation_ends_at = serializers.DateTimeField(
        source="previous_secret_expires_at",
        allow_null=True,
        help_text="until then the previous secret signs too",
    )
    created = serializers.DateTimeField()


class EndpointWithSecretOutput(EndpointOutput):
    secret = serializers.CharField(help_text="whsec_...: shown only now; store it")


class EventDataOutput(serializers.Serializer):
    object = serializers.DictField(help_text="the object as the API returns it")


class EventOutput(serializers.Serializer):
    """The event exactly as delivered."""

    id = serializers.CharField()
    type = serializers.ChoiceField(choices=[*catalogue.EVENT_TYPES, catalogue.TEST_EVENT_TYPE])
    created = serializers.DateTimeField()
    api_version = serializers.CharField()
    tenant_id = serializers.CharField()
    data = EventDataOutput()  # type: ignore[assignment]  # the API's field `data`; DRF's metaclass moves declared fields off the class

    def to_representation(self, instance):
        return instance.payload


class EventListFilter(StrictSerializer):
    # Empty query values (`?type=&cursor=`) mean "not given", as the pager reads them.
    type = serializers.ChoiceField(
        choices=[*catalogue.EVENT_TYPES, catalogue.TEST_EVENT_TYPE],
        required=False,
        allow_blank=True,
    )
    limit = serializers.CharField(required=False, allow_blank=True)  # checked by the pager
    cursor = serializers.CharField(required=False, allow_blank=True)


class WebhookDeliveryOutput(serializers.Serializer):
    delivery_id = serializers.CharField()
    event_id = serializers.CharField(source="event.event_id")
    event_type = serializers.CharField(source="event.type")
    status = serializers.ChoiceField(choices=WebhookDelivery.Status.choices)
    attempts = serializers.IntegerField()
    next_attempt_at = serializers.SerializerMethodField()
    response_status = serializers.IntegerField(allow_null=True)
    response_body = serializers.CharField(help_text="the last answer, first 1 KiB")
    latency_ms = serializers.IntegerField(allow_null=True)
    last_error = serializers.CharField()
    delivered_at = serializers.DateTimeField(allow_null=True)
    created = serializers.DateTimeField()

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_next_attempt_at(self, delivery):
        if delivery.status not in (WebhookDelivery.Status.PENDING, WebhookDelivery.Status.RETRYING):
            return None
        return serializers.DateTimeField().to_representation(delivery.next_attempt_at)


class DeliveryListFilter(StrictSerializer):
    status = serializers.ChoiceField(
        choices=WebhookDelivery.Status.choices, required=False, allow_blank=True
    )
    limit = serializers.CharField(required=False, allow_blank=True)  # checked by the pager
    cursor = serializers.CharField(required=False, allow_blank=True)


class ReplayInput(StrictSerializer):
    since = serializers.DateTimeField(help_text="failed deliveries of events from then on")


class ReplayOutput(serializers.Serializer):
    replayed = serializers.IntegerField()
