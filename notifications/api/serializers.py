"""Input/output shapes of the notifications API."""

from rest_framework import serializers

from billing_project.api.fields import StrictSerializer
from notifications.events import KINDS
from notifications.models import TENANT_CHANNELS, Channel, Delivery
from notifications.preferences import channels_for


class DeliveryOutput(serializers.Serializer):
    channel = serializers.ChoiceField(choices=Channel.choices)
    recipient = serializers.CharField()
    status = serializers.ChoiceField(choices=Delivery.Status.choices)
    attempts = serializers.IntegerField()
    sent_at = serializers.DateTimeField(allow_null=True)


class NotificationOutput(serializers.Serializer):
    notification_id = serializers.CharField(source="pk")
    kind = serializers.CharField()
    title = serializers.CharField()
    body = serializers.CharField()
    created = serializers.DateTimeField()
    read = serializers.SerializerMethodField()
    deliveries = DeliveryOutput(many=True, source="deliveries.all")

    def get_read(self, obj) -> bool:
        return obj.read_at is not None


class PreferencesOutput(serializers.Serializer):
    channels = serializers.SerializerMethodField(
        help_text="every kind with the channels it goes to"
    )
    email_owners = serializers.BooleanField()
    email_billing_admins = serializers.BooleanField()
    extra_emails = serializers.ListField(child=serializers.EmailField())
    slack_webhook_configured = serializers.SerializerMethodField(
        help_text="the URL itself is a secret: stored encrypted, never returned"
    )

    def get_channels(self, obj) -> dict[str, list[str]]:
        return {kind: channels_for(obj, kind) for kind in KINDS}

    def get_slack_webhook_configured(self, obj) -> bool:
        return bool(obj.slack_webhook_ciphertext)


# {kind: [channels]} with the kinds as named, optional fields: the schema lists the kinds, and an
# unknown one is refused as any unknown field is.
ChannelsInput = type(
    "ChannelsInput",
    (StrictSerializer,),
    {
        "__doc__": "Channels per notification kind; kinds left out keep their channels.",
        **{
            kind: serializers.ListField(
                child=serializers.ChoiceField(choices=TENANT_CHANNELS), required=False
            )
            for kind in KINDS
        },
    },
)


class PreferencesInput(StrictSerializer):
    channels = ChannelsInput(
        required=False,
        help_text='{kind: ["email", "slack", "in_app"]}; kinds left out keep their channels',
    )
    email_owners = serializers.BooleanField(required=False)
    email_billing_admins = serializers.BooleanField(required=False)
    extra_emails = serializers.ListField(
        child=serializers.EmailField(), required=False, max_length=20
    )
    slack_webhook_url = serializers.URLField(
        required=False,
        allow_null=True,
        allow_blank=True,
        max_length=500,
        help_text='https://hooks.slack.com/...; null or "" removes it',
    )


class TestNotificationInput(StrictSerializer):
    channels = serializers.ListField(
        child=serializers.ChoiceField(choices=TENANT_CHANNELS),
        required=False,
        allow_empty=False,
        min_length=1,
        help_text="default: email, Slack (when set) and in-app",
    )
