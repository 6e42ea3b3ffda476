"""Outbound webhooks of a tenant. Tenant schema.

An `Event` is one business fact told to the tenant's systems (the catalogue: webhooks.catalogue),
recorded once per dedup key; a `WebhookDelivery` is that event on its way to one endpoint (unique per
endpoint and event: the `webhook-id` header stays the event id across every retry).
"""

from django.db import models


class WebhookEndpoint(models.Model):
    endpoint_id = models.CharField(max_length=40, unique=True)
    url = models.URLField(max_length=2000)
    description = models.CharField(max_length=500, blank=True)
    enabled_events = models.JSONField(default=list, help_text='["*"] or a list of event types')
    enabled = models.BooleanField(default=True)
    # The signing secrets are Fernet-encrypted at rest (notifications.crypto, keys can rotate); the
    # previous one keeps signing beside the new one until previous_secret_expires_at.
    secret_key_id = models.CharField(max_length=16)
    secret_ciphertext = models.TextField()
    previous_secret_key_id = models.CharField(max_length=16, blank=True)
    previous_secret_ciphertext = models.TextField(blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    # Start of the current run of failed attempts (null once one succeeds): disabled past 5 days.
    failing_since = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=200, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return f"{self.endpoint_id} {self.url}"

    def wants(self, event_type: str) -> bool:
        return "*" in self.enabled_events or event_type in self.enabled_events


class Event(models.Model):
    event_id = models.CharField(max_length=40, unique=True)
    type = models.CharField(max_length=64, db_index=True)
    dedup_key = models.CharField(max_length=255, unique=True)
    payload = models.JSONField(help_text="the body delivered, exactly")
    created = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return f"{self.event_id} {self.type}"


class WebhookDelivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RETRYING = "retrying", "Retrying"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    delivery_id = models.CharField(max_length=40, unique=True)
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    # When the next attempt is due; while an attempt is in flight, the end of its lease.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True, help_text="the last answer, truncated")
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True, db_index=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created", "-id"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event"], name="webhook_delivery_once")
        ]
        indexes = [
            models.Index(
                fields=["endpoint", "status", "next_attempt_at"], name="webhook_delivery_due"
            )
        ]

    def __str__(self) -> str:
        return f"{self.event_id} -> {self.endpoint_id}: {self.status}"
