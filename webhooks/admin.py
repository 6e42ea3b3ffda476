"""Back-office for outbound webhooks: a chosen tenant's endpoints (enable/disable, send a test event,
replay failed deliveries), the delivery log (retry) and the event log, one tenant at a time, picked
above each list (tenants.schema_admin)."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import admin
from django.db import connection
from django.utils import timezone

from tenants.schema_admin import TenantSchemaAdmin
from webhooks import services
from webhooks.models import Event, WebhookDelivery, WebhookEndpoint


class _TenantOwned(TenantSchemaAdmin):
    """Endpoints and their logs belong to the tenant: the back-office neither adds nor deletes them."""

    def has_add_permission(self, request):
        return False  # endpoints are the tenant's: created in the portal or the API (secret shown once)

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(_TenantOwned):
    list_display = ["endpoint_id", "url", "enabled", "enabled_events", "failing_since", "created"]
    list_filter = ["enabled"]
    search_fields = ["endpoint_id", "url", "description"]
    readonly_fields = [
        f.name
        for f in WebhookEndpoint._meta.fields
        if f.name not in ("enabled",) and "secret" not in f.name
    ]
    exclude = [
        "secret_key_id",
        "secret_ciphertext",
        "previous_secret_key_id",
        "previous_secret_ciphertext",
    ]
    actions = ["send_test", "replay_week", "enable", "disable"]

    def save_model(self, request, obj, form, change):
        services.endpoint_update(
            tenant=connection.tenant,
            actor=request.user.email,
            endpoint_id=obj.endpoint_id,
            enabled=obj.enabled,
        )

    @admin.action(description="Send a webhook.test event", permissions=["change"])
    def send_test(self, request, queryset):
        for endpoint in queryset:
            services.endpoint_send_test(
                tenant=connection.tenant, actor=request.user.email, endpoint_id=endpoint.endpoint_id
            )
        self.message_user(request, f"Test event queued for {queryset.count()} endpoint(s).")

    @admin.action(description="Replay failed deliveries of the last 7 days", permissions=["change"])
    def replay_week(self, request, queryset):
        since = timezone.now() - timedelta(days=7)
        total = sum(
            services.deliveries_replay(
                tenant=connection.tenant,
                actor=request.user.email,
                endpoint_id=endpoint.endpoint_id,
                since=since,
            )
            for endpoint in queryset
        )
        self.message_user(request, f"{total} failed deliveries queued again.")

    @admin.action(description="Enable", permissions=["change"])
    def enable(self, request, queryset):
        for endpoint in queryset:
            services.endpoint_update(
                tenant=connection.tenant,
                actor=request.user.email,
                endpoint_id=endpoint.endpoint_id,
                enabled=True,
            )

    @admin.action(description="Disable", permissions=["change"])
    def disable(self, request, queryset):
        for endpoint in queryset:
            services.endpoint_update(
                tenant=connection.tenant,
                actor=request.user.email,
                endpoint_id=endpoint.endpoint_id,
                enabled=False,
            )


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(_TenantOwned):
    list_display = [
        "created",
        "delivery_id",
        "event",
        "endpoint",
        "status",
        "attempts",
        "response_status",
        "latency_ms",
        "next_attempt_at",
    ]
    list_filter = ["status"]
    search_fields = ["delivery_id", "event__event_id", "endpoint__url", "last_error"]
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]
    actions = ["retry"]
    list_select_related = ["event", "endpoint"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_retry_permission(self, request):
        # support and finance (tenants/migrations/0007); read_only only reads the log.
        return request.user.has_perm("webhooks.change_webhookdelivery")

    @admin.action(description="Send the selected deliveries again", permissions=["retry"])
    def retry(self, request, queryset):
        for delivery in queryset.select_related("endpoint"):
            services.delivery_retry(
                tenant=connection.tenant,
                actor=request.user.email,
                endpoint_id=delivery.endpoint.endpoint_id,
                delivery_id=delivery.delivery_id,
            )
        self.message_user(request, f"{queryset.count()} deliveries queued again.")


@admin.register(Event)
class EventAdmin(_TenantOwned):
    list_display = ["created", "event_id", "type", "dedup_key"]
    list_filter = ["type"]
    search_fields = ["event_id", "dedup_key"]
    readonly_fields = [f.name for f in Event._meta.fields]

    def has_change_permission(self, request, obj=None):
        return False
