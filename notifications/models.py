"""Notifications of billing events for a tenant's people. Tenant schema.

A `BillingEvent` (notifications.events) becomes one `Notification` (the in-app entry and the parent
of every delivery) and one `Delivery` per channel and recipient. Unique dedup keys on all three are
what make an alert go out once, however often a webhook repeats or a job re-runs.
"""

from django.db import models


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    SLACK = "slack", "Slack (tenant)"
    PLATFORM_SLACK = "platform_slack", "Slack (platform finance channel)"
    IN_APP = "in_app", "In-app"


# Channels a tenant chooses per kind (the platform channel is the platform's choice, not the tenant's).
TENANT_CHANNELS = (Channel.EMAIL, Channel.SLACK, Channel.IN_APP)


class BillingEvent(models.Model):
    """Something that happened to the tenant's billing (see notifications.events). Append-only."""

    kind = models.CharField(max_length=64)
    object_id = models.CharField(
        max_length=255, help_text="invoice, subscription, card or usage period"
    )
    dedup_key = models.CharField(max_length=255, unique=True)
    data = models.JSONField(default=dict, blank=True)
    created = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return self.dedup_key


class Notification(models.Model):
    """One alert: the in-app entry (when `in_app`) and the parent of its deliveries."""

    kind = models.CharField(max_length=64)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True, db_index=True)
    read_at = models.DateTimeField(null=True, blank=True)
    # Null for test notifications, which have no billing event behind them.
    event = models.OneToOneField(
        BillingEvent, null=True, blank=True, on_delete=models.SET_NULL, related_name="notification"
    )
    dedup_key = models.CharField(max_length=255, unique=True, null=True, blank=True)
    data = models.JSONField(
        default=dict, blank=True, help_text="the event's data, rendered into each channel"
    )
    in_app = models.BooleanField(
        default=True, help_text="shown in the portal and GET /notifications"
    )

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.kind}: {self.title}"


class Delivery(models.Model):
    """One message to one recipient on one channel: the delivery log."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RETRYING = "retrying", "Retrying"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, related_name="deliveries"
    )
    kind = models.CharField(max_length=64, db_index=True)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    recipient = models.CharField(
        max_length=254, help_text="email address, or 'tenant'/'platform' for Slack"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    dedup_key = models.CharField(max_length=400, unique=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True, db_index=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created"]
        verbose_name_plural = "deliveries"
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="delivery_status_due")]

    def __str__(self) -> str:
        return f"{self.kind} {self.channel} to {self.recipient}: {self.status}"


class NotificationPreference(models.Model):
    """The tenant's choices: one row per tenant schema (pk 1); absent means the defaults
    (notifications.preferences.DEFAULTS)."""

    channels = models.JSONField(
        default=dict,
        blank=True,
        help_text='{kind: ["email", "slack", "in_app"]}; kinds not listed use the default',
    )
    email_owners = models.BooleanField(default=True)
    email_billing_admins = models.BooleanField(default=True)
    extra_emails = models.JSONField(default=list, blank=True)
    # The webhook URL is a secret (anyone holding it can post to the channel): Fernet-encrypted,
    # with the id of the key that encrypted it so keys can rotate (notifications.crypto).
    slack_webhook_ciphertext = models.TextField(blank=True)
    slack_webhook_key_id = models.CharField(max_length=16, blank=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(pk=1), name="notification_preference_singleton"
            )
        ]

    def __str__(self) -> str:
        return "notification preferences"
