"""Usage metering: meters, events, rollups and alert state. Tenant schema.

Volume shapes the tables: events are append-only rows in a table partitioned by month
(usage.partitions), written with `INSERT ... ON CONFLICT DO NOTHING` after their keys (the unique
indexes of `UsageEventKey` on `transaction_id` and `idempotency_key` are what makes a retry, even a
concurrent one, count once, whatever the month); every read of totals goes to `UsageRollup`, one row per resource and
billing period kept current in the same transaction as the events, so no read scans events.
"""

import uuid

from django.db import models


class Aggregation(models.TextChoices):
    SUM = "sum", "Sum"
    COUNT = "count", "Count of events"
    MAX = "max", "Maximum over the period"
    LAST = "last", "Last value"
    UNIQUE_COUNT = "unique_count", "Unique count of a property"


class Meter(models.Model):
    """A resource type that can be metered. The three built-in ones are seeded by a migration;
    custom ones are added in admin."""

    code = models.SlugField(
        max_length=64, unique=True, help_text="resource_type in the API, e.g. 'api_calls'."
    )
    display_name = models.CharField(max_length=100)
    unit = models.CharField(max_length=32, default="units")
    aggregation = models.CharField(
        max_length=16, choices=Aggregation.choices, default=Aggregation.SUM
    )
    unique_property = models.CharField(
        max_length=64,
        blank=True,
        help_text="unique_count: the event property counted (events without it update the last value).",
    )
    stripe_event_name = models.CharField(
        max_length=100,
        blank=True,
        help_text="Stripe billing meter event_name the usage is pushed to.",
    )
    is_active = models.BooleanField(default=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(aggregation="unique_count") | ~models.Q(unique_property=""),
                name="usage_meter_unique_count_needs_property",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.display_name} ({self.code}, {self.aggregation})"


class UsageEvent(models.Model):
    """One reported usage. Append-only: corrections are new events.

    A table partitioned by month on `period_start` (usage.partitions): in the database its primary
    key is (id, period_start); `transaction_id` and the Idempotency-Key are kept unique across
    months by `UsageEventKey`, which points at the event's row.
    """

    id = models.BigAutoField(primary_key=True)
    event_id = models.UUIDField(default=uuid.uuid4, editable=False)
    resource_type = models.CharField(max_length=64)
    quantity = models.DecimalField(max_digits=30, decimal_places=6)
    unit = models.CharField(max_length=32, blank=True)
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    source = models.CharField(max_length=64, blank=True)
    # NULL, not "": the partial unique constraints below hold only for events that carry one.
    transaction_id = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001
    fingerprint = models.CharField(
        max_length=64, help_text="sha256 of the event's fields (same key, other body -> 409)"
    )
    properties = models.JSONField(default=dict, blank=True)
    billing_period_start = models.DateTimeField(
        help_text="start of the billing period holding period_start"
    )
    late = models.BooleanField(default=False, help_text="its billing period was already invoiced")
    billed_period_start = models.DateTimeField(
        help_text="the period whose invoice bills it (the next one when late)"
    )
    received_at = models.DateTimeField()

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(quantity__gte=0), name="usage_event_quantity_non_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(period_end__gte=models.F("period_start")),
                name="usage_event_period_order",
            ),
        ]
        indexes = [
            # Events list and CSV report: by resource and time, or by time alone.
            models.Index(
                fields=["resource_type", "period_start"], name="usage_event_resource_time"
            ),
            models.Index(fields=["period_start"], name="usage_event_time"),
        ]

    def __str__(self) -> str:
        return f"{self.resource_type} {self.quantity} @ {self.period_start:%Y-%m-%d %H:%M}"


class UsageEventKey(models.Model):
    """The dedup key of an event that carries a `transaction_id` or an Idempotency-Key, unique
    across every month (the partitioned events table can only enforce uniqueness within a month).

    One row per such event, keyed by `key`: `t:<transaction_id>` when it has one, else
    `k:<Idempotency-Key>`; `idempotency_key` (unique too) is set whenever the event carried one, so
    an event is refused when either of its keys was taken. One row and, in the common case (a
    transaction_id only), one index entry per event: the cheapest insert that keeps both rules.
    Ingest inserts this row first and the event only when it went in. Kept when the event's month
    is archived, so a key is never counted twice."""

    key = models.CharField(max_length=257, primary_key=True)
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001
    event_pk = models.BigIntegerField(help_text="the event's id (with period_start: its row)")
    event_id = models.UUIDField()
    period_start = models.DateTimeField(help_text="the event's, to find its partition")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["idempotency_key"],
                condition=models.Q(idempotency_key__isnull=False),
                name="usage_event_key_idempotency_key_unique",
            ),
        ]

    def __str__(self) -> str:
        return self.key

    @staticmethod
    def of_transaction(transaction_id: str) -> str:
        """The `key` of an event with that transaction_id."""
        return f"t:{transaction_id}"


class UsageRollup(models.Model):
    """Running aggregates of one resource in one billing period, updated with its events.

    Every aggregation is kept, so a meter's aggregation can be read without touching events.
    `late_billed` is the sum of late events (of earlier periods) that this period's invoice bills;
    `late_received` the part of `total` that arrived late (billed by a later period instead).
    """

    resource_type = models.CharField(max_length=64)
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    total = models.DecimalField(max_digits=36, decimal_places=6, default=0)
    event_count = models.BigIntegerField(default=0)
    max_value = models.DecimalField(max_digits=30, decimal_places=6, default=0)
    last_value = models.DecimalField(max_digits=30, decimal_places=6, default=0)
    last_at = models.DateTimeField(null=True, blank=True)
    unique_count = models.BigIntegerField(default=0)
    late_billed = models.DecimalField(max_digits=36, decimal_places=6, default=0)
    late_received = models.DecimalField(
        max_digits=36,
        decimal_places=6,
        default=0,
        help_text="part of total that arrived after the period was invoiced",
    )
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-period_start", "resource_type"]
        constraints = [
            models.UniqueConstraint(
                fields=["resource_type", "period_start"], name="usage_rollup_resource_period"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.resource_type} {self.period_start:%Y-%m-%d}"


class UsageDailyRollup(models.Model):
    """One resource's events of one UTC day (by `period_start`), kept with its events like
    `UsageRollup`: the portal's usage chart reads a period as ~30 of these rows, not its events.

    `unique_new` counts the unique_count meter's values first seen in the period on that day, so
    the running sum over the period's days is the period's unique count.
    """

    resource_type = models.CharField(max_length=64)
    day = models.DateField()
    period_start = models.DateTimeField(help_text="billing period holding the day's events")
    total = models.DecimalField(max_digits=36, decimal_places=6, default=0)
    event_count = models.BigIntegerField(default=0)
    max_value = models.DecimalField(max_digits=30, decimal_places=6, default=0)
    last_value = models.DecimalField(max_digits=30, decimal_places=6, default=0)
    last_at = models.DateTimeField(null=True, blank=True)
    unique_new = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["period_start", "resource_type", "day"]
        constraints = [
            models.UniqueConstraint(
                fields=["resource_type", "period_start", "day"], name="usage_daily_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.resource_type} {self.day:%Y-%m-%d}"


class UsageUniqueValue(models.Model):
    """The distinct property values seen per resource and period (unique_count meters)."""

    resource_type = models.CharField(max_length=64)
    period_start = models.DateTimeField()
    value = models.CharField(max_length=255)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["resource_type", "period_start", "value"], name="usage_unique_value_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.resource_type} {self.period_start:%Y-%m-%d}: {self.value}"


class UsageAlert(models.Model):
    """A threshold that fired for a resource in a period: at most one row each (fires once)."""

    resource_type = models.CharField(max_length=64)
    period_start = models.DateTimeField()
    threshold = models.PositiveSmallIntegerField(help_text="percent of the limit")
    used = models.DecimalField(max_digits=36, decimal_places=6)
    limit = models.BigIntegerField()
    fired_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-fired_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["resource_type", "period_start", "threshold"], name="usage_alert_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.resource_type} {self.threshold}% {self.period_start:%Y-%m}"


class MeterPush(models.Model):
    """How much of a resource's billable usage in a period was sent to Stripe as meter events.

    Each push sends the difference to the billable total, with an identifier derived from the
    total it brings Stripe to: a retry or re-run after a crash sends the same identifier, which
    Stripe refuses as a duplicate instead of billing it twice.
    """

    resource_type = models.CharField(max_length=64)
    period_start = models.DateTimeField()
    pushed_quantity = models.DecimalField(max_digits=36, decimal_places=6, default=0)
    last_identifier = models.CharField(max_length=255, blank=True)
    last_pushed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    failures = models.PositiveIntegerField(default=0, help_text="consecutive failed pushes")
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-period_start", "resource_type"]
        constraints = [
            models.UniqueConstraint(
                fields=["resource_type", "period_start"], name="usage_meter_push_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.resource_type} {self.period_start:%Y-%m-%d}: {self.pushed_quantity}"


class Collector(models.Model):
    """A usage source polled on a schedule: a NetBox (REST, token) or Odoo (JSON-RPC, API key)
    count that feeds one resource. The secret is stored encrypted (notifications.crypto)."""

    class Kind(models.TextChoices):
        NETBOX = "netbox", "NetBox"
        ODOO = "odoo", "Odoo"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    name = models.CharField(max_length=100, unique=True)
    base_url = models.URLField(
        help_text="e.g. https://netbox.example.com or https://odoo.example.com"
    )
    resource_type = models.SlugField(
        max_length=64, help_text="the meter the count feeds, e.g. users or devices"
    )
    target = models.CharField(
        max_length=100,
        help_text="NetBox endpoint (dcim/devices, dcim/sites) or Odoo model (res.users)",
    )
    filters = models.JSONField(
        default=dict,
        blank=True,
        help_text='NetBox query parameters ({"status": "active"}) or an Odoo domain '
        '({"domain": [["active", "=", true]]})',
    )
    odoo_database = models.CharField(max_length=100, blank=True)
    odoo_login = models.CharField(max_length=200, blank=True)
    secret_key_id = models.CharField(max_length=32, blank=True)
    secret_ciphertext = models.TextField(
        blank=True, help_text="NetBox token or Odoo API key, encrypted"
    )
    interval_minutes = models.PositiveIntegerField(default=60)
    is_active = models.BooleanField(default=True)
    platform = models.BooleanField(
        default=False,
        editable=False,
        help_text="Configured for every tenant by the environment (NETBOX_API_URL, ODOO_API_URL): its URL, secret "
        "and tenant mapping come from the settings, not from this row.",
    )
    last_run_at = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind} -> {self.resource_type})"


class CollectorRun(models.Model):
    """One poll of a collector: what it saw, or why it failed."""

    class Status(models.TextChoices):
        OK = "ok", "OK"
        FAILED = "failed", "Failed"

    collector = models.ForeignKey(Collector, on_delete=models.CASCADE, related_name="runs")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices)
    count = models.DecimalField(max_digits=30, decimal_places=6, null=True, blank=True)
    error = models.TextField(blank=True)
    event_id = models.UUIDField(null=True, blank=True, help_text="the usage event it recorded")

    class Meta:
        ordering = ["-started_at"]
        indexes = [
            models.Index(fields=["collector", "started_at"], name="usage_collector_run_time")
        ]

    def __str__(self) -> str:
        return f"{self.collector.name} {self.started_at:%Y-%m-%d %H:%M} {self.status}"
