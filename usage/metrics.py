"""Usage series of /metrics: billing_usage_events_total and billing_usage_quantity_total, by plan and
resource type. Never by tenant: the cardinality stays plans x resources (a resource type the plan's
catalog does not list is counted as "other", so tenants cannot add series)."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

EVENTS = "billing_usage_events_total"
QUANTITY = "billing_usage_quantity_total"
OTHER = "other"


def usage_ingested_increments(
    *, plan_id: str | None, known: set[str], events
) -> list[tuple[str, dict, int | Decimal]]:
    """The business counter increments (billing_project.business_metrics) of newly stored usage
    events (EventIn: resource_type, quantity), written after the commit with the ingest's other
    Redis writes (usage.counters.counters_store)."""
    totals: dict[str, list] = defaultdict(lambda: [0, Decimal(0)])
    for event in events:
        resource = event.resource_type if event.resource_type in known else OTHER
        total = totals[resource]
        total[0] += 1
        quantity = event.quantity
        # An EventIn's is a Decimal already (a batch converted 1,000 of them again).
        total[1] += quantity if type(quantity) is Decimal else Decimal(str(quantity))
    plan = plan_id or "none"
    increments: list[tuple[str, dict, int | Decimal]] = []
    for resource, (count, quantity) in totals.items():
        labels = {"plan_id": plan, "resource_type": resource}
        increments += [(EVENTS, labels, count), (QUANTITY, labels, quantity)]
    return increments
