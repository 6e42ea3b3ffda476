"""Notifications of billing events for a tenant's people. Tenant schema."""

from django.db import models


class Notification(models.Model):
    """One entry of the in-app notification list (channels and delivery log come with the
    notifications issue)."""

    kind = models.CharField(max_length=64)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True, db_index=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.kind}: {self.title}"


class BillingEvent(models.Model):
    """Something that happened to the tenant's billing (see notifications.events). Append-only."""

    kind = models.CharField(max_length=64)
    object_id = models.CharField(max_length=255, help_text="invoice, subscription, card or usage period")
    dedup_key = models.CharField(max_length=255, unique=True)
    data = models.JSONField(default=dict, blank=True)
    created = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return self.dedup_key
