"""The one aggregation rule of usage.

`FOLD` says, per aggregate column, how a later part (one event, a batch's delta) folds into what a
rollup holds: the SQL upserts of ingest are generated from it (`fold_sql`) and the Python deltas
apply it (`fold`), so the period rollups, the daily rollups and the batch deltas cannot drift
apart. `aggregate_value` says which aggregate a meter reads; the selectors and the alerts call it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from usage.models import Aggregation

SUM, MAX, LAST = "sum", "max", "last"

# column -> how a later part folds in; `last_value` follows `last_at` (the newest event wins).
FOLD = {
    "total": SUM,
    "event_count": SUM,
    "max_value": MAX,
    "last_value": LAST,
    "last_at": MAX,
    "unique_count": SUM,
    "unique_new": SUM,
    "late_billed": SUM,
    "late_received": SUM,
}


def event_part(quantity: Decimal, at: datetime) -> dict[str, Any]:
    """What one event adds to every aggregate of its period and day."""
    return {
        "total": quantity,
        "event_count": 1,
        "max_value": quantity,
        "last_value": quantity,
        "last_at": at,
    }


def fold_events(
    into: dict[str, Any], quantities: list[Decimal], ats: list[datetime]
) -> dict[str, Any]:
    """fold(into, event_part(quantity, at)) for each event, in order, at once: what a batch does
    once per day rather than once per event (the generic fold cost more than the rest of its Python). The same aggregates: the sum, the count, the first of the
    maximal quantities (max keeps the first of equals), and the value of the last event at the
    newest moment when it is not older than the one held. Kept equal to the rule by
    tests/usage/test_aggregation_rule.py."""
    held_at = into.get("last_at")
    newest = max(ats)
    into["total"] = sum(quantities, into.get("total") or 0)
    into["event_count"] = (into.get("event_count") or 0) + len(quantities)
    held, top = into.get("max_value"), max(quantities)
    into["max_value"] = top if held is None else max(held, top)
    if held_at is None or newest >= held_at:
        into["last_value"] = quantities[len(ats) - 1 - ats[::-1].index(newest)]
    elif "last_value" not in into:
        into["last_value"] = Decimal(0)
    into["last_at"] = newest if held_at is None else max(held_at, newest)
    return into


def _newer(part_at: datetime | None, held_at: datetime | None) -> bool:
    return part_at is not None and (held_at is None or part_at >= held_at)


def fold(into: dict[str, Any], part: dict[str, Any]) -> dict[str, Any]:
    """Fold `part` into the running aggregates `into` (in place; columns missing in `into` start
    from nothing). Columns of `part` not in FOLD are left alone."""
    newer = _newer(part.get("last_at"), into.get("last_at"))
    for column, value in part.items():
        rule = FOLD.get(column)
        held = into.get(column)
        if rule == SUM:
            into[column] = (held or 0) + value
        elif rule == MAX:
            into[column] = value if held is None else (held if value is None else max(held, value))
        elif rule == LAST and newer:
            into[column] = value
        elif rule == LAST and column not in into:
            into[column] = Decimal(0)
    return into


def fold_sql(alias: str, columns: Iterable[str]) -> str:
    """The `ON CONFLICT ... DO UPDATE SET` assignments of `columns` for a table aliased `alias`,
    by the same rule as `fold`."""
    assignments = []
    for column in columns:
        rule = FOLD[column]
        if rule == SUM:
            assignments.append(f"{column} = {alias}.{column} + EXCLUDED.{column}")
        elif rule == MAX:
            assignments.append(f"{column} = GREATEST({alias}.{column}, EXCLUDED.{column})")
        else:
            # A part without events of its own (a late event's billed share) carries no last_at.
            assignments.append(
                f"{column} = CASE WHEN EXCLUDED.last_at IS NOT NULL AND ({alias}.last_at IS NULL "
                f"OR EXCLUDED.last_at >= {alias}.last_at) THEN EXCLUDED.{column} "
                f"ELSE {alias}.{column} END"
            )
    # Postgres evaluates every right-hand side on the old row: last_value compares the old last_at.
    return ",\n    ".join(assignments)


def aggregate_value(
    aggregation: str,
    *,
    total: Decimal,
    count: int,
    max_value: Decimal,
    last_value: Decimal,
    unique: int,
) -> Decimal:
    """A period's (or day's) value of a resource under its meter's aggregation."""
    if aggregation == Aggregation.COUNT:
        return Decimal(count)
    if aggregation == Aggregation.MAX:
        return max_value
    if aggregation == Aggregation.LAST:
        return last_value
    if aggregation == Aggregation.UNIQUE_COUNT:
        # Sources that report a head count (no per-user property) feed the last value instead.
        return Decimal(unique) if unique else last_value
    return total
