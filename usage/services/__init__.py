"""Writes of the usage app, by sub-domain: ingest (events, rollups, alerts), metering (Stripe),
collectors (NetBox, Odoo)."""

from usage.services.collectors import (
    collector_create,
    collector_secret_set,
    collector_url_check,
    usage_collector_run,
    usage_collectors_run_due,
)
from usage.services.ingest import (
    MAX_BATCH,
    IngestResult,
    usage_alerts_fire,
    usage_counters_reset,
    usage_event_ingest,
    usage_event_ingest_batch,
)
from usage.services.metering import usage_meter_push

__all__ = [
    "collector_create",
    "collector_secret_set",
    "collector_url_check",
    "usage_collector_run",
    "usage_collectors_run_due",
    "MAX_BATCH",
    "IngestResult",
    "usage_alerts_fire",
    "usage_counters_reset",
    "usage_event_ingest",
    "usage_event_ingest_batch",
    "usage_meter_push",
]
