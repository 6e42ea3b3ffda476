from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    """Outbound webhooks (Standard Webhooks): the tenants' endpoints, the event log, deliveries.
    Tenant schema."""

    name = "webhooks"
    verbose_name = "Outbound webhooks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from notifications.events import billing_event_record
        from webhooks import handlers, signals  # noqa: F401  (Stripe handlers; tenant status)
        from webhooks.catalogue import on_billing_event

        # Inside the billing event's own transaction: the outbound event exists iff the billing
        # event does, under the same dedup key (a Stripe retry or replay records neither twice).
        billing_event_record(on_billing_event)
