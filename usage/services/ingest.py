"""Writes of the usage app: ingest of events (single and batch) and threshold alerts.

Ingest is one transaction of set-based statements whatever the number of events: the events are
inserted with `INSERT ... SELECT FROM unnest(...) ON CONFLICT DO NOTHING` (a repeated
`transaction_id` or Idempotency-Key, even sent concurrently, is skipped by the unique indexes and
the loser then reads the winner's committed row), then each touched rollup is upserted once.
Redis counters and alerts follow after commit.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from datetime import timezone as dt_timezone
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from billing_project.api.exceptions import Conflict, InvalidRequest
from notifications.events import billing_event_emit
from usage import counters
from usage.limits import billing_period, limits_get
from usage.models import Aggregation, UsageAlert
from usage.schema import in_schema
from usage.selectors import meters_get, rollup_used
from usage.validation import EventIn, EventInvalid, event_parse

logger = logging.getLogger(__name__)

MAX_BATCH = 1000

def _unnest(types: list[str]) -> str:
    return "unnest(" + ", ".join(f"%s::{t}[]" for t in types) + ")"


def _values(types: list[str]) -> str:
    return ", ".join(f"%s::{t}" for t in types)


_EVENT_COLUMNS = ("event_id, resource_type, quantity, unit, period_start, period_end, source, transaction_id, "
                  "idempotency_key, fingerprint, properties, billing_period_start, late, billed_period_start, "
                  "received_at")
_EVENT_TYPES = ["uuid", "varchar", "numeric", "varchar", "timestamptz", "timestamptz", "varchar", "varchar",
                "varchar", "varchar", "jsonb", "timestamptz", "bool", "timestamptz", "timestamptz"]

_INSERT_EVENTS = f"""
INSERT INTO usage_usageevent ({_EVENT_COLUMNS})
SELECT * FROM {_unnest(_EVENT_TYPES)}
ON CONFLICT DO NOTHING
RETURNING event_id
"""

_SELECT_EXISTING = """
SELECT event_id, transaction_id, idempotency_key, fingerprint, resource_type, quantity, unit, period_start,
    period_end, source, properties, late, billing_period_start, received_at
FROM usage_usageevent WHERE transaction_id = ANY(%s) OR idempotency_key = ANY(%s)
"""

_INSERT_UNIQUE = """
INSERT INTO usage_usageuniquevalue (resource_type, period_start, value)
SELECT * FROM unnest(%s::varchar[], %s::timestamptz[], %s::varchar[])
ON CONFLICT DO NOTHING
RETURNING resource_type, period_start, value
"""

_ROLLUP_COLUMNS = ("resource_type, period_start, period_end, total, event_count, max_value, last_value, last_at, "
                   "unique_count, late_billed, late_received")
_ROLLUP_TYPES = ["varchar", "timestamptz", "timestamptz", "numeric", "bigint", "numeric", "numeric", "timestamptz",
                 "bigint", "numeric", "numeric"]
_ROLLUP_MERGE = """
ON CONFLICT (resource_type, period_start) DO UPDATE SET
    total = r.total + EXCLUDED.total,
    event_count = r.event_count + EXCLUDED.event_count,
    max_value = GREATEST(r.max_value, EXCLUDED.max_value),
    last_value = CASE WHEN EXCLUDED.last_at IS NOT NULL AND (r.last_at IS NULL OR EXCLUDED.last_at >= r.last_at)
                      THEN EXCLUDED.last_value ELSE r.last_value END,
    last_at = GREATEST(r.last_at, EXCLUDED.last_at),
    unique_count = r.unique_count + EXCLUDED.unique_count,
    late_billed = r.late_billed + EXCLUDED.late_billed,
    late_received = r.late_received + EXCLUDED.late_received,
    updated = now()
RETURNING resource_type, period_start, total, event_count, max_value, last_value, unique_count
"""

# Rows are sorted so that concurrent batches lock rollups in the same order (no deadlocks).
_UPSERT_ROLLUPS = f"""
INSERT INTO usage_usagerollup AS r ({_ROLLUP_COLUMNS}, updated)
SELECT u.*, now() FROM {_unnest(_ROLLUP_TYPES)} AS u ORDER BY 1, 2
{_ROLLUP_MERGE}"""

_DAY_COLUMNS = "resource_type, period_start, day, total, event_count, max_value, last_value, last_at, unique_new"
_DAY_TYPES = ["varchar", "timestamptz", "date", "numeric", "bigint", "numeric", "numeric", "timestamptz", "bigint"]
_DAY_MERGE = """
ON CONFLICT (resource_type, period_start, day) DO UPDATE SET
    total = d.total + EXCLUDED.total,
    event_count = d.event_count + EXCLUDED.event_count,
    max_value = GREATEST(d.max_value, EXCLUDED.max_value),
    last_value = CASE WHEN d.last_at IS NULL OR EXCLUDED.last_at >= d.last_at
                      THEN EXCLUDED.last_value ELSE d.last_value END,
    last_at = GREATEST(d.last_at, EXCLUDED.last_at),
    unique_new = d.unique_new + EXCLUDED.unique_new
"""

_UPSERT_DAYS = f"""
INSERT INTO usage_usagedailyrollup AS d ({_DAY_COLUMNS})
SELECT * FROM {_unnest(_DAY_TYPES)} AS u ORDER BY 1, 2, 3
{_DAY_MERGE}"""

# One event in one statement (and so one implicit transaction): the event, then its period's rollup
# (fed by the event's CTE, so nothing is counted when the event was a repeat), then its day (fed by
# the rollup's row: the data dependency makes the rollup's row lock come first, as in batches, so a
# single event and a batch never wait for each other in opposite orders).
_INGEST_ONE = f"""
WITH ins AS (
    INSERT INTO usage_usageevent ({_EVENT_COLUMNS}) VALUES ({_values(_EVENT_TYPES)})
    ON CONFLICT DO NOTHING RETURNING event_id
), rolled AS (
    INSERT INTO usage_usagerollup AS r ({_ROLLUP_COLUMNS}, updated) SELECT {_values(_ROLLUP_TYPES)}, now() FROM ins
    {_ROLLUP_MERGE}
), day AS (
    INSERT INTO usage_usagedailyrollup AS d ({_DAY_COLUMNS}) SELECT {_values(_DAY_TYPES)} FROM rolled
    {_DAY_MERGE}
    RETURNING 1
)
SELECT rolled.* FROM rolled, (SELECT count(*) FROM day) AS days
"""


@dataclass
class IngestResult:
    """One event's outcome: "accepted", "duplicate" or "rejected" (with `error`)."""

    status: str
    event: dict | None = None
    error: dict | None = None


@dataclass
class _Delta:
    period_end: datetime | None  # None for a day's delta
    total: Decimal = Decimal(0)
    count: int = 0
    max_value: Decimal = Decimal(0)
    last_value: Decimal = Decimal(0)
    last_at: datetime | None = None
    unique: int = 0
    late_billed: Decimal = Decimal(0)
    late_received: Decimal = Decimal(0)


@dataclass
class _Rollup:
    resource_type: str
    period_start: datetime
    total: Decimal
    event_count: int
    max_value: Decimal
    last_value: Decimal
    unique_count: int


@dataclass
class _Prepared:
    event: EventIn
    idempotency_key: str | None
    event_id: uuid.UUID = field(default_factory=uuid.uuid4)
    billing_period_start: datetime | None = None
    billing_period_end: datetime | None = None
    late: bool = False
    billed_period_start: datetime | None = None
    billed_period_end: datetime | None = None


def _event_dict(p: _Prepared, received_at: datetime) -> dict:
    e = p.event
    return {"event_id": str(p.event_id), "resource_type": e.resource_type, "quantity": e.quantity, "unit": e.unit,
            "period_start": e.period_start, "period_end": e.period_end, "source": e.source,
            "transaction_id": e.transaction_id, "properties": e.properties, "late": p.late,
            "billing_period_start": p.billing_period_start, "received_at": received_at}


def _row_dict(row) -> dict:
    (event_id, transaction_id, _key, _fp, resource_type, quantity, unit, period_start, period_end, source,
     properties, late, billing_period_start, received_at) = row
    return {"event_id": str(event_id), "resource_type": resource_type, "quantity": quantity, "unit": unit,
            "period_start": period_start, "period_end": period_end, "source": source,
            "transaction_id": transaction_id,
            # Django loads jsonb as text on raw cursors (it decodes JSON in the field).
            "properties": json.loads(properties) if isinstance(properties, str) else properties,
            "late": late, "billing_period_start": billing_period_start, "received_at": received_at}


def _place(prepared: list[_Prepared], anchor, now: datetime) -> None:
    """Which billing period counts each event, and whether that period was already invoiced."""
    current_start, current_end = billing_period(now, anchor)
    for p in prepared:
        start, end = billing_period(p.event.period_start, anchor)
        p.billing_period_start, p.billing_period_end = start, end
        # Invoices are issued at the end of each period, so every earlier period is invoiced:
        # its late events are billed by the current period's invoice.
        p.late = end <= current_start
        p.billed_period_start, p.billed_period_end = ((current_start, current_end) if p.late else (start, end))


def _event_row(p: _Prepared, now: datetime) -> tuple:
    e = p.event
    return (p.event_id, e.resource_type, e.quantity, e.unit, e.period_start, e.period_end, e.source, e.transaction_id,
            p.idempotency_key, e.fingerprint(), json.dumps(e.properties), p.billing_period_start, p.late,
            p.billed_period_start, now)


def _insert(cursor, prepared: list[_Prepared], now: datetime) -> set[uuid.UUID]:
    cursor.execute(_INSERT_EVENTS, [list(c) for c in zip(*[_event_row(p, now) for p in prepared])])
    return {row[0] for row in cursor.fetchall()}


def _rollup_deltas(inserted: list[_Prepared], meters):
    """What the inserted events add to their periods' rollups and to their days' rollups, and the
    unique_count values they carry (value key -> the day it was seen on)."""
    deltas: dict[tuple[str, datetime], _Delta] = {}
    days: dict[tuple[str, datetime, date], _Delta] = {}
    uniques: dict[tuple[str, datetime, str], tuple] = {}
    for p in inserted:
        e = p.event
        d = deltas.setdefault((e.resource_type, p.billing_period_start), _Delta(period_end=p.billing_period_end))
        day_key = (e.resource_type, p.billing_period_start, e.period_start.astimezone(dt_timezone.utc).date())
        day = days.setdefault(day_key, _Delta(period_end=None))
        for acc in (d, day):
            acc.total += e.quantity
            acc.count += 1
            acc.max_value = max(acc.max_value, e.quantity)
            if acc.last_at is None or e.period_start >= acc.last_at:
                acc.last_value, acc.last_at = e.quantity, e.period_start
        meter = meters.get(e.resource_type)
        if meter is not None and meter.aggregation == Aggregation.UNIQUE_COUNT:
            value = e.properties.get(meter.unique_property)
            if value is not None and value != "":
                uniques.setdefault((e.resource_type, p.billing_period_start, str(value)[:255]), day_key)
        if p.late:
            d.late_received += e.quantity
            billed = deltas.setdefault((e.resource_type, p.billed_period_start),
                                       _Delta(period_end=p.billed_period_end))
            billed.late_billed += e.quantity
    return deltas, days, uniques


def _count_new_uniques(cursor, uniques: dict, deltas: dict, days: dict) -> None:
    """Store the unique_count values; those new to their period add one to its rollup and day."""
    if not uniques:
        return
    cursor.execute(_INSERT_UNIQUE, [list(c) for c in zip(*uniques)])
    for resource, period_start, value in cursor.fetchall():
        deltas[(resource, period_start)].unique += 1
        days[uniques[(resource, period_start, value)]].unique += 1


def _day_rows(days) -> list[tuple]:
    return [(resource, start, day, d.total, d.count, d.max_value, d.last_value, d.last_at, d.unique)
            for (resource, start, day), d in days.items()]


def _rollup_rows(deltas) -> list[tuple]:
    return [(resource, start, d.period_end, d.total, d.count, d.max_value, d.last_value, d.last_at, d.unique,
             d.late_billed, d.late_received) for (resource, start), d in deltas.items()]


def _ingest_many(prepared: list[_Prepared], meters, now: datetime) -> tuple[set[uuid.UUID], list[_Rollup]]:
    rollups: list[_Rollup] = []
    with transaction.atomic(), connection.cursor() as cursor:
        inserted_ids = _insert(cursor, prepared, now)
        inserted = [p for p in prepared if p.event_id in inserted_ids]
        if inserted:
            deltas, days, uniques = _rollup_deltas(inserted, meters)
            _count_new_uniques(cursor, uniques, deltas, days)
            cursor.execute(_UPSERT_ROLLUPS, [list(c) for c in zip(*_rollup_rows(deltas))])
            rollups = [_Rollup(*row) for row in cursor.fetchall()]
            cursor.execute(_UPSERT_DAYS, [list(c) for c in zip(*_day_rows(days))])
    return inserted_ids, rollups


def _fits_one_statement(p: _Prepared, meters) -> bool:
    # A late event touches two rollups and a unique_count one needs its value's row first.
    meter = meters.get(p.event.resource_type)
    return not p.late and (meter is None or meter.aggregation != Aggregation.UNIQUE_COUNT)


def _ingest_one(p: _Prepared, meters, now: datetime) -> tuple[set[uuid.UUID], list[_Rollup]]:
    """The single-event API's common case in one round trip (and no BEGIN/COMMIT of its own)."""
    deltas, days, _ = _rollup_deltas([p], meters)  # no unique_count meter here (_fits_one_statement)
    (rollup_row,), (day_row,) = _rollup_rows(deltas), _day_rows(days)
    with connection.cursor() as cursor:
        cursor.execute(_INGEST_ONE, [*_event_row(p, now), *rollup_row, *day_row])
        rollups = [_Rollup(*row) for row in cursor.fetchall()]
    return ({p.event_id} if rollups else set()), rollups


def _existing_rows(prepared: list[_Prepared], inserted_ids: set[uuid.UUID]) -> dict:
    """The stored events that the repeats among `prepared` repeat, by ("tx", id) and ("key", key).
    ON CONFLICT waited for their writers to commit, so they are visible now."""
    repeats = [p for p in prepared if p.event_id not in inserted_ids]
    txs = [p.event.transaction_id for p in repeats if p.event.transaction_id]
    keys = [p.idempotency_key for p in repeats if p.idempotency_key]
    existing = {}
    with connection.cursor() as cursor:
        cursor.execute(_SELECT_EXISTING, [txs, keys])
        for row in cursor.fetchall():
            if row[1] is not None:
                existing[("tx", row[1])] = row
            if row[2] is not None:
                existing[("key", row[2])] = row
    return existing


def _ingest(*, tenant, prepared: list[_Prepared], now: datetime) -> tuple[set[uuid.UUID], dict]:
    """Insert what is new; returns (inserted event ids, existing rows of the duplicates by key)."""
    limits = limits_get(tenant)
    meters = meters_get(tenant=tenant)
    _place(prepared, limits.period_anchor, now)
    if len(prepared) == 1 and _fits_one_statement(prepared[0], meters):
        inserted_ids, rollups = _ingest_one(prepared[0], meters, now)
    else:
        inserted_ids, rollups = _ingest_many(prepared, meters, now)
    existing = _existing_rows(prepared, inserted_ids) if len(inserted_ids) < len(prepared) else {}
    if rollups:
        transaction.on_commit(lambda: _after_ingest(tenant, rollups))
    return inserted_ids, existing


def _after_ingest(tenant, rollups: list[_Rollup]) -> None:
    meters = meters_get(tenant=tenant)
    values = []
    for r in rollups:
        meter = meters.get(r.resource_type)
        aggregation = meter.aggregation if meter else Aggregation.SUM
        values.append((r.resource_type, r.period_start, rollup_used(r, meter), aggregation == Aggregation.LAST))
    counters.counters_store(tenant.schema_name, values)
    for resource, period_start, used, _ in values:
        usage_alerts_fire(tenant=tenant, resource=resource, period_start=period_start, used=used)


def _duplicate_of(p: _Prepared, existing: dict):
    if p.event.transaction_id is not None and ("tx", p.event.transaction_id) in existing:
        return existing[("tx", p.event.transaction_id)]
    if p.idempotency_key is not None:
        return existing.get(("key", p.idempotency_key))
    return None


def usage_event_ingest(*, tenant, data: dict, idempotency_key: str | None = None,
                       now: datetime | None = None) -> tuple[dict, bool]:
    """Record one usage event. Returns (event, created).

    The same `transaction_id`, or the same Idempotency-Key with the same body, returns the original
    event with created=False and counts nothing; the same key with another body raises Conflict
    (`idempotency_conflict`). Invalid input raises InvalidRequest with per-field detail.
    """
    now = now or timezone.now()
    if idempotency_key is not None and len(idempotency_key) > 255:
        raise InvalidRequest("Idempotency-Key is longer than 255 characters.")
    with in_schema(tenant):
        units = {code: m.unit for code, m in meters_get(tenant=tenant).items()}
        try:
            event = event_parse(data, units=units, now=now)
        except EventInvalid as exc:
            raise InvalidRequest(str(exc), detail=exc.detail)
        prepared = _Prepared(event=event, idempotency_key=idempotency_key)
        inserted, existing = _ingest(tenant=tenant, prepared=[prepared], now=now)
        if prepared.event_id in inserted:
            return _event_dict(prepared, now), True
        row = _duplicate_of(prepared, existing)
        if row is None:  # pragma: no cover - a conflict on event_id (a uuid4 collision)
            raise Conflict("The event could not be stored; retry.")
        if event.transaction_id is None or row[1] != event.transaction_id:
            if row[3] != event.fingerprint():
                raise Conflict("This Idempotency-Key was used with another request.", code="idempotency_conflict")
        return _row_dict(row), False


def usage_event_ingest_batch(*, tenant, events: list, now: datetime | None = None) -> list[IngestResult]:
    """Record up to MAX_BATCH events at once; each is accepted, a duplicate (of an earlier
    `transaction_id`, also within the batch) or rejected with its validation errors. The good
    events are kept whatever happens to the others."""
    now = now or timezone.now()
    if not isinstance(events, list):
        raise InvalidRequest("events must be a list.", detail={"events": ["Expected a list."]})
    if not events:
        raise InvalidRequest("events must not be empty.", detail={"events": ["Give at least one event."]})
    if len(events) > MAX_BATCH:
        raise InvalidRequest(f"At most {MAX_BATCH} events per batch.",
                             detail={"events": [f"At most {MAX_BATCH} events, got {len(events)}."]})
    with in_schema(tenant):
        units = {code: m.unit for code, m in meters_get(tenant=tenant).items()}
        results: list[IngestResult | None] = []
        prepared: list[tuple[int, _Prepared]] = []
        for index, raw in enumerate(events):
            try:
                prepared.append((index, _Prepared(event=event_parse(raw, units=units, now=now),
                                                  idempotency_key=None)))
                results.append(None)
            except EventInvalid as exc:
                results.append(IngestResult(status="rejected", error={"code": "invalid_request",
                                                                      "message": str(exc), "detail": exc.detail}))
        if prepared:
            inserted, existing = _ingest(tenant=tenant, prepared=[p for _, p in prepared], now=now)
            for index, p in prepared:
                if p.event_id in inserted:
                    results[index] = IngestResult(status="accepted", event={"event_id": str(p.event_id)})
                else:
                    row = _duplicate_of(p, existing)
                    results[index] = IngestResult(status="duplicate",
                                                  event={"event_id": str(row[0]) if row else None})
    return results


def usage_alerts_fire(*, tenant, resource: str, period_start: datetime, used: Decimal) -> list[int]:
    """Fire each threshold that `used` reached, once per tenant, resource and period, as a billing
    event (`usage_threshold_reached` below 100%, `usage_limit_exceeded` at 100% and above).
    Returns the thresholds fired now."""
    limits = limits_get(tenant)
    limit = limits.limit_of(resource)
    if limit is None or used <= 0:
        return []
    fired = []
    for threshold in limits.thresholds:
        if used * 100 < threshold * limit:
            break
        if counters.alert_marked(tenant.schema_name, resource, period_start, threshold):
            continue
        with in_schema(tenant), transaction.atomic():
            alert, created = UsageAlert.objects.get_or_create(
                resource_type=resource, period_start=period_start, threshold=threshold,
                defaults={"used": used, "limit": limit})
            if created:
                kind = "usage_limit_exceeded" if threshold >= 100 else "usage_threshold_reached"
                period = f"{period_start:%Y-%m-%d}"
                billing_event_emit(tenant=tenant, kind=kind, object_id=f"{resource}:{period}",
                                   dedup_key=f"{kind}:{resource}:{period}:{threshold}",
                                   data={"resource_type": resource, "threshold": threshold, "used": str(used),
                                         "limit": limit, "period_start": period_start.isoformat()})
                fired.append(threshold)
        counters.alert_mark(tenant.schema_name, resource, period_start, threshold)
    return fired


def usage_counters_reset(*, tenant, resource: str, period_start: datetime) -> None:
    """Forget a cached counter (it is rebuilt from the rollup on the next check)."""
    counters.counter_forget(tenant.schema_name, resource, period_start)

