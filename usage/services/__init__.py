"""Writes of the usage app, by sub-domain: ingest (events, rollups, alerts), metering (Stripe),
collectors (NetBox, Odoo),
partitions (the events table's monthly partitions: made ahead, archived)."""

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
from usage.services.partitions import ArchiveOutcome, usage_archive, usage_partitions_ensure

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
    "ArchiveOutcome",
    "usage_archive",
    "usage_partitions_ensure",
]
