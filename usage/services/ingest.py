"""Writes of the usage app: ingest of events (single and batch) and threshold alerts.

Ingest is one transaction of set-based statements whatever the number of events. A batch whose
keys (`transaction_id` or Idempotency-Key) are all new is COPied straight into `UsageEventKey` and
the events table, ids drawn first, in a savepoint: a key already taken (even by a concurrent batch,
whose commit the key table's unique indexes make it wait for, and in another month) fails that COPY
and the batch takes the exact path instead: COPY into a temporary staging table, then one statement
inserts their keys and then the events whose keys went in, both `ON CONFLICT DO NOTHING`, and the
loser reads the winner's committed row (the events table is partitioned by month, see
usage.partitions). Then each touched rollup is upserted once; a single event is one statement.
Redis counters and alerts follow after commit.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from dataclasses import fields as dataclass_fields
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

from django.db import connection, transaction
from django.db.models import Field, Model
from django.utils import timezone
from psycopg.errors import UniqueViolation

from billing_project.db_backend import binary_copy
from billing_project.db_backend.base import prepared_cursor
from billing_project.errors import Conflict, InvalidRequest
from notifications.events import billing_event_emit
from usage import counters
from usage.aggregation import FOLD, event_part, fold, fold_events, fold_sql
from usage.limits import billing_period, limits_get
from usage.metrics import usage_ingested_increments
from usage.models import (
    Aggregation,
    Meter,
    UsageAlert,
    UsageDailyRollup,
    UsageEvent,
    UsageEventKey,
    UsageRollup,
)
from usage.partitions import KEY_SQL, SEQUENCE
from usage.schema import in_schema
from usage.selectors import meters_get, rollup_used
from usage.validation import (
    EventIn,
    EventInvalid,
    event_fingerprint,
    event_parse,
    fingerprint_head,
)

if TYPE_CHECKING:
    from django.db.backends.utils import CursorWrapper

    from tenants.models import Tenant

logger = logging.getLogger(__name__)

# A stored row or an aggregate by column name; the batch's rollup and day deltas by their keys,
# its unique_count values (resource, period, value) -> the day key they were seen on; the stored
# events that repeats repeat, by ("tx", transaction_id) or ("key", idempotency key).
Row = dict[str, Any]
Deltas = dict[tuple[str, datetime], Row]
Days = dict[tuple[str, datetime, date], Row]
Uniques = dict[tuple[str, datetime, str], tuple[str, datetime, date]]
Existing = dict[tuple[str, str], Row]

MAX_BATCH = 1000


def _unnest(types: list[str]) -> str:
    return "unnest(" + ", ".join(f"%s::{t}[]" for t in types) + ")"


def _values(types: list[str]) -> str:
    return ", ".join(f"%s::{t}" for t in types)


def _fields(
    model: type[Model], *, skip: tuple[str, ...] = ("id", "updated")
) -> list[Field[Any, Any]]:
    """The model's stored columns in model order (the surrogate key and `updated` are the
    database's): every column list and parameter row of this module is built from these, by name,
    so a column added to the model cannot silently shift the others."""
    return [f for f in model._meta.concrete_fields if f.name not in skip]


def _types(fields: list[Field[Any, Any]]) -> list[str]:
    # Without the length or precision (varchar, not varchar(64)): a cast would cut a long value
    # where the column's own check refuses it.
    return [re.sub(r"\(.*\)", "", f.db_type(connection)) for f in fields]  # type: ignore[arg-type]  # a concrete field has a column type


def _row(fields: list[Field[Any, Any]], values: Row) -> tuple[Any, ...]:
    """One parameter row in the fields' order; a field without a value is an error, not a shift."""
    return tuple(values[f.name] for f in fields)


def _columns(fields: list[Field[Any, Any]]) -> str:
    return ", ".join(f.column for f in fields)  # type: ignore[misc]  # django-stubs allow a Field no column; a concrete field has one


def _positions(fields: list[Field[Any, Any]], names: Iterable[str]) -> str:
    """ORDER BY positions of `names` (in that order) among the fields."""
    order = [f.name for f in fields]
    return ", ".join(str(order.index(name) + 1) for name in names)


def _fetch(cursor: CursorWrapper) -> list[Row]:
    """The cursor's rows by column name."""
    names = [column.name for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


_EVENT = _fields(UsageEvent)
_EVENT_COLUMN: dict[str, str] = {f.name: f.column for f in _EVENT}  # type: ignore[misc]  # django-stubs allow a Field no column; a concrete field has one
_ROLLUP = _fields(UsageRollup)
_DAY = _fields(UsageDailyRollup)
_ROLLUP_KEY, _DAY_KEY = ("resource_type", "period_start"), ("resource_type", "period_start", "day")
_ROLLUP_FOLDED: list[str] = [f.column for f in _ROLLUP if f.name in FOLD]  # type: ignore[misc]  # django-stubs allow a Field no column; a concrete field has one
_DAY_FOLDED: list[str] = [f.column for f in _DAY if f.name in FOLD]  # type: ignore[misc]  # django-stubs allow a Field no column; a concrete field has one
_STAGING = "usage_ingest_staging"


def _keyed_insert(source: str) -> str:
    """CTEs `keyed` and `ins`: the `source` events' key rows (those carrying a transaction_id or an
    Idempotency-Key), then the events whose key row went in or that carry no key. A key already
    taken, in any month (usage.partitions), skips its event. `source` has each event's `id`, drawn
    from the events' sequence, which its key row points at. The events insert has no ON CONFLICT:
    its only unique index is (id, period_start) with a fresh id, and the speculative insertion
    cost about 15% of a batch's move; were a row ever to conflict, the whole ingest fails rather
    than keep a key row for an event it dropped."""
    return f"""keyed AS (
    INSERT INTO {UsageEventKey._meta.db_table} (key, idempotency_key, event_pk, event_id, period_start)
    SELECT {KEY_SQL}, idempotency_key, id, event_id, period_start FROM {source}
    WHERE transaction_id IS NOT NULL OR idempotency_key IS NOT NULL
    ON CONFLICT DO NOTHING RETURNING event_pk
), ins AS (
    INSERT INTO {UsageEvent._meta.db_table} (id, {_columns(_EVENT)})
    SELECT id, {_columns(_EVENT)} FROM {source}
    WHERE (transaction_id IS NULL AND idempotency_key IS NULL)
        OR id IN (SELECT event_pk FROM keyed)
    RETURNING event_id
)"""


def _event_sql() -> dict[str, str]:
    """The statements that name the event, rollup and day columns: built on first use, when the
    database connection can type the fields."""
    event_types, rollup_types, day_types = _types(_EVENT), _types(_ROLLUP), _types(_DAY)
    rollup_merge = f"""
ON CONFLICT ({", ".join(_ROLLUP_KEY)}) DO UPDATE SET
    {fold_sql("r", _ROLLUP_FOLDED)},
    updated = now()
RETURNING {_RETURNED}
"""
    day_merge = f"""
ON CONFLICT ({", ".join(_DAY_KEY)}) DO UPDATE SET
    {fold_sql("d", _DAY_FOLDED)}
"""
    rollup_order, day_order = _positions(_ROLLUP, _ROLLUP_KEY), _positions(_DAY, _DAY_KEY)

    def one_event(inserted: str) -> str:
        """A single event's statement: `inserted` ends with the CTE `ins`, the event if it went in."""
        return f"""{inserted}, rolled AS (
    INSERT INTO {UsageRollup._meta.db_table} AS r ({_columns(_ROLLUP)}, updated)
    SELECT {_values(rollup_types)}, now() FROM ins
    {rollup_merge}
), day AS (
    INSERT INTO {UsageDailyRollup._meta.db_table} AS d ({_columns(_DAY)}) SELECT {_values(day_types)} FROM rolled
    {day_merge}
    RETURNING 1
)
SELECT rolled.* FROM rolled, (SELECT count(*) FROM day) AS days
"""

    _copy_columns = ", ".join(_EVENT_COLUMN[name] for name in _COPY_COLUMNS)
    return {
        # Rows are sorted so that concurrent batches lock rollups in the same order (no deadlocks).
        "upsert_rollups": f"""
INSERT INTO {UsageRollup._meta.db_table} AS r ({_columns(_ROLLUP)}, updated)
SELECT u.*, now() FROM {_unnest(rollup_types)} AS u ORDER BY {rollup_order}
{rollup_merge}""",
        "upsert_days": f"""
INSERT INTO {UsageDailyRollup._meta.db_table} AS d ({_columns(_DAY)})
SELECT * FROM {_unnest(day_types)} AS u ORDER BY {day_order}
{day_merge}""",
        # One event in one statement (and so one implicit transaction): the event, then its
        # period's rollup (fed by the event's CTE, so nothing is counted when the event was a
        # repeat), then its day (fed by the rollup's row: the data dependency makes the rollup's
        # row lock come first, as in batches, so a single event and a batch never wait for each
        # other in opposite orders).
        "ingest_one": one_event(f"""
WITH new AS (
    SELECT nextval('{SEQUENCE}') AS id, v.*
    FROM (VALUES ({_values(event_types)})) AS v ({_columns(_EVENT)})
),
{_keyed_insert("new")}"""),
        # An event without a transaction_id or an Idempotency-Key has no key row: its statement
        # leaves the key CTE out, which cost a single event about a sixth of its database time
        # (issue 21) even when it inserted nothing.
        "ingest_one_unkeyed": one_event(f"""
WITH ins AS (
    INSERT INTO {UsageEvent._meta.db_table} ({_columns(_EVENT)}) VALUES ({_values(event_types)})
    RETURNING event_id
)"""),
        # Batches: COPY into a session's temporary staging table (created once per connection; no
        # constraint, no index, no WAL), then one statement moves its rows into the events table,
        # skipping repeats, so the unique indexes still decide what counts (also between batches
        # sent at once). The move empties the staging table whatever the outer transaction does.
        "create_staging": f"""
CREATE TEMPORARY TABLE IF NOT EXISTS {_STAGING} ({
            ", ".join(f"{f.column} {t}" for f, t in zip(_EVENT, event_types, strict=True))
        })
""",
        "copy_staging": f"COPY {_STAGING} ({_copy_columns}) FROM STDIN (FORMAT BINARY)",
        # The common case's path (_copy_new): ids first, then the key rows and events as they are.
        "draw_ids": f"SELECT array_agg(nextval('{SEQUENCE}')) FROM generate_series(1, %s)",
        "copy_keys": f"COPY {UsageEventKey._meta.db_table} (key, idempotency_key, event_pk, event_id, period_start) FROM STDIN (FORMAT BINARY)",
        "copy_events": f"COPY {UsageEvent._meta.db_table} (id, {_copy_columns}) FROM STDIN (FORMAT BINARY)",
        "move_staging": f"""
WITH staged AS (
    DELETE FROM {_STAGING} RETURNING nextval('{SEQUENCE}') AS id, {_columns(_EVENT)}
),
{_keyed_insert("staged")}
SELECT event_id FROM ins
""",
        # The key rows of the repeats and the events they point to (none once archived).
        "select_existing": f"""
SELECT k.event_id AS key_event_id, k.key AS key_key,
    k.idempotency_key AS key_idempotency_key, {", ".join(f"e.{c}" for c in _columns(_EVENT).split(", "))}
FROM {UsageEventKey._meta.db_table} k
LEFT JOIN {UsageEvent._meta.db_table} e ON e.id = k.event_pk AND e.period_start = k.period_start
WHERE k.key = ANY(%s) OR k.idempotency_key = ANY(%s)
""",
    }


_sql: dict[str, str] = {}


def _statement(name: str) -> str:
    if not _sql:
        _sql.update(_event_sql())
    return _sql[name]


_INSERT_UNIQUE = """
INSERT INTO usage_usageuniquevalue (resource_type, period_start, value)
SELECT * FROM unnest(%s::varchar[], %s::timestamptz[], %s::varchar[])
ON CONFLICT DO NOTHING
RETURNING resource_type, period_start, value
"""


@dataclass(slots=True)
class IngestResult:
    """One event's outcome: "accepted", "duplicate" or "rejected" (with `error`)."""

    status: str
    event: Row | None = None
    error: Row | None = None


@dataclass
class _Rollup:
    """A period rollup as the upserts return it: their RETURNING list is these fields, in order."""

    resource_type: str
    period_start: datetime
    total: Decimal
    event_count: int
    max_value: Decimal
    last_value: Decimal
    unique_count: int


_RETURNED = ", ".join(f.name for f in dataclass_fields(_Rollup))


def _event_ids(count: int) -> list[str]:
    """`count` random (version 4) UUIDs as text, as str(uuid.uuid4()) writes them, from one read of
    the OS's random source: uuid4() reads it once per id, which cost a batch more than its COPY."""
    digits = os.urandom(16 * count).hex()
    return [
        f"{digits[i : i + 8]}-{digits[i + 8 : i + 12]}-4{digits[i + 13 : i + 16]}-"
        f"{_VARIANT[digits[i + 16]]}{digits[i + 17 : i + 20]}-{digits[i + 20 : i + 32]}"
        for i in range(0, 32 * count, 32)
    ]


# uuid4's variant bits (RFC 4122: 10xx) in the 17th hex digit, from a random one.
_VARIANT = {f"{d:x}": f"{0x8 | (d & 0x3):x}" for d in range(16)}


@dataclass(slots=True)
class _Prepared:
    event: EventIn
    idempotency_key: str | None
    event_id: str = field(default_factory=lambda: _event_ids(1)[0])
    billing_period_start: datetime | None = None
    billing_period_end: datetime | None = None
    late: bool = False
    billed_period_start: datetime | None = None
    billed_period_end: datetime | None = None


# The event as the API shows it (and its replay): these columns of the stored row.
_SHOWN = (
    "event_id",
    "resource_type",
    "quantity",
    "unit",
    "period_start",
    "period_end",
    "source",
    "transaction_id",
    "properties",
    "late",
    "billing_period_start",
    "received_at",
)


def _event_values(p: _Prepared, now: datetime) -> Row:
    """The stored row of a prepared event, by column name."""
    e = p.event
    return {
        "event_id": p.event_id,
        "resource_type": e.resource_type,
        "quantity": e.quantity,
        "unit": e.unit,
        "period_start": e.period_start,
        "period_end": e.period_end,
        "source": e.source,
        "transaction_id": e.transaction_id,
        "idempotency_key": p.idempotency_key,
        "fingerprint": e.fingerprint(),
        "properties": e.properties,
        "billing_period_start": p.billing_period_start,
        "late": p.late,
        "billed_period_start": p.billed_period_start,
        "received_at": now,
    }


def _shown(values: Row) -> Row:
    shown = {name: values[name] for name in _SHOWN}
    shown["event_id"] = str(shown["event_id"])  # a UUID when read back
    # Django loads jsonb as text on raw cursors (it decodes JSON in the field).
    if isinstance(shown["properties"], str):
        shown["properties"] = json.loads(shown["properties"])
    return shown


def _place(prepared: list[_Prepared], anchor: datetime | None, now: datetime) -> None:
    """Which billing period counts each event, and whether that period was already invoiced."""
    current_start, current_end = billing_period(now, anchor)
    periods = [(current_start, current_end)]  # a batch's events fall in one or two periods
    for p in prepared:
        at = p.event.period_start
        for start, end in periods:
            if start <= at < end:
                break
        else:
            start, end = billing_period(at, anchor)
            periods.append((start, end))
        p.billing_period_start, p.billing_period_end = start, end
        # Invoices are issued at the end of each period, so every earlier period is invoiced:
        # its late events are billed by the current period's invoice.
        p.late = end <= current_start
        p.billed_period_start, p.billed_period_end = (
            (current_start, current_end) if p.late else (start, end)
        )


def _event_row(p: _Prepared, now: datetime) -> tuple[Any, ...]:
    return _row(_EVENT, {**_event_values(p, now), "properties": json.dumps(p.event.properties)})


# The COPY columns: the events' stored columns, in the order _copy_rows writes them.
_COPY_COLUMNS = (
    "event_id",
    "resource_type",
    "quantity",
    "unit",
    "period_start",
    "period_end",
    "source",
    "transaction_id",
    "idempotency_key",
    "fingerprint",
    "properties",
    "billing_period_start",
    "late",
    "billed_period_start",
    "received_at",
)
if set(_COPY_COLUMNS) != {f.name for f in _EVENT}:  # pragma: no cover - a model change
    raise RuntimeError("usage.services.ingest: _COPY_COLUMNS must name every stored event column.")
# Row heads: a staged event (its columns) and a stored one (its id first); a key row.
_STAGED_ROW, _EVENT_ROW = (
    binary_copy.row_head(len(_COPY_COLUMNS)),
    binary_copy.row_head(len(_COPY_COLUMNS) + 1),
)
_KEY_ROW = binary_copy.row_head(5)
_EMPTY_PROPERTIES = binary_copy.jsonb_text("{}")
_FINGERPRINT_LENGTH = binary_copy.length(64)  # a fingerprint is sha256's 64 hex digits


def _moments() -> binary_copy.Memo[datetime, str]:
    """A batch's timestamps in isoformat, which the fingerprint hashes: a batch repeats its
    timestamps, each formatted once; event_parse fills in those its events sent in that form."""
    return binary_copy.Memo(datetime.isoformat)


@dataclass(slots=True)
class _Copied:
    """A batch's events in COPY's binary format: each event's fields after its id (the
    _COPY_COLUMNS), and the parts of its key row it shares (event_id, period_start,
    idempotency_key) or sets (its `key` field, usage.partitions.KEY_SQL; None for an event without
    keys)."""

    rows: list[bytes]
    event_ids: list[bytes]
    starts: list[bytes]
    idempotency_keys: list[bytes]
    keys: list[bytes | None]


def _copy_rows(
    prepared: list[_Prepared], now: datetime, moments: binary_copy.Memo[datetime, str]
) -> _Copied:
    """The rows of `prepared` as binary COPY fields (billing_project.db_backend.binary_copy),
    built in one go: psycopg's write_row cost more per event than the database's COPY of it.
    A batch's repeated values (texts, timestamps, quantities) are encoded once."""
    texts = binary_copy.Memo(binary_copy.text)
    # Keyed by the events' periods, which _place gave every event (typed optional on _Prepared).
    stamps: binary_copy.Memo[Any, bytes] = binary_copy.Memo(binary_copy.timestamptz)
    # Quantities and fingerprint heads by resource type, unit and quantity: the quantity by
    # identity, as event_parse's memo shares it between equal inputs ("0" and "-0" are equal
    # Decimals that normalize differently, so their fingerprints differ).
    quantities: dict[int, bytes] = {}
    heads: dict[tuple[str, str, int], str] = {}
    received = stamps[now]
    copied = _Copied([], binary_copy.uuid_texts([p.event_id for p in prepared]), [], [], [])
    for p, event_id in zip(prepared, copied.event_ids, strict=True):
        e = p.event
        quantity = quantities.get(id(e.quantity))
        if quantity is None:
            quantity = quantities[id(e.quantity)] = binary_copy.numeric(e.quantity)
        head = heads.get(kind := (e.resource_type, e.unit, id(e.quantity)))
        if head is None:
            head = heads[kind] = fingerprint_head(e)
        start = stamps[e.period_start]
        fingerprint = event_fingerprint(
            e, moments[e.period_start], moments[e.period_end], head
        ).encode()
        idempotency_key = (
            binary_copy.NULL if p.idempotency_key is None else binary_copy.text(p.idempotency_key)
        )
        # The key row's key (usage.partitions.KEY_SQL) shares the transaction_id's encoding.
        key: bytes | None
        if e.transaction_id is not None:
            transaction_id, key = binary_copy.text_prefixed(e.transaction_id, b"t:")
        else:
            transaction_id = binary_copy.NULL
            key = None if p.idempotency_key is None else binary_copy.text(f"k:{p.idempotency_key}")
        copied.starts.append(start)
        copied.idempotency_keys.append(idempotency_key)
        copied.keys.append(key)
        copied.rows.append(
            b"".join(
                (
                    event_id,
                    texts[e.resource_type],
                    quantity,
                    texts[e.unit],
                    start,
                    stamps[e.period_end],
                    texts[e.source],
                    transaction_id,
                    idempotency_key,
                    _FINGERPRINT_LENGTH,
                    fingerprint,
                    binary_copy.jsonb_text(json.dumps(e.properties))
                    if e.properties
                    else _EMPTY_PROPERTIES,
                    stamps[p.billing_period_start],
                    binary_copy.TRUE if p.late else binary_copy.FALSE,
                    stamps[p.billed_period_start],
                    received,
                )
            )
        )
    return copied


def _copy_data(head: bytes, rows: Iterable[bytes]) -> bytes:
    """COPY's binary data: the `rows` (their fields), each after its `head`."""
    return b"".join((binary_copy.HEADER, *(head + row for row in rows), binary_copy.TRAILER))


def _keys_distinct(prepared: list[_Prepared], copied: _Copied) -> bool:
    """Whether no two events of `prepared` share a key or an Idempotency-Key (a batch repeating
    itself takes the staged path, which keeps the first of each); a key field for a key."""
    given = [key for key in copied.keys if key is not None]
    idempotency_keys = [p.idempotency_key for p in prepared if p.idempotency_key is not None]
    return len(set(given)) == len(given) and len(set(idempotency_keys)) == len(idempotency_keys)


def _copy_new(cursor: CursorWrapper, prepared: list[_Prepared], copied: _Copied) -> None:
    """COPY the events and their key rows straight into their tables, ids drawn first (a key row
    points at its event's id). Raises UniqueViolation when a key is taken already (stored, or by a
    concurrent batch: the unique index makes COPY wait for its commit, as ON CONFLICT does)."""
    cursor.execute(_statement("draw_ids"), [len(prepared)])
    ids = [binary_copy.int8(id_) for id_ in cursor.fetchone()[0]]
    key_rows = [
        b"".join((key, idempotency_key, id_, event_id, start))
        for id_, key, idempotency_key, event_id, start in zip(
            ids, copied.keys, copied.idempotency_keys, copied.event_ids, copied.starts, strict=True
        )
        if key is not None
    ]
    if key_rows:
        with cursor.cursor.copy(_statement("copy_keys")) as copy:
            copy.write(_copy_data(_KEY_ROW, key_rows))
    with cursor.cursor.copy(_statement("copy_events")) as copy:
        copy.write(
            _copy_data(_EVENT_ROW, (id_ + row for id_, row in zip(ids, copied.rows, strict=True)))
        )


def _insert(
    cursor: CursorWrapper,
    prepared: list[_Prepared],
    now: datetime,
    moments: binary_copy.Memo[datetime, str],
) -> set[str]:
    """Insert the events that are new; their event ids. In the common case (no key repeated or
    taken) events and keys are COPied straight into their tables, in a savepoint: COPY costs the
    database a third less than inserting from a staging table with ON CONFLICT. A key already taken
    rolls that back, and the staging path decides event by event."""
    copied = _copy_rows(prepared, now, moments)
    if _keys_distinct(prepared, copied):
        try:
            with transaction.atomic():
                _copy_new(cursor, prepared, copied)
            return {p.event_id for p in prepared}
        except UniqueViolation:
            pass
    # COPY into the temporary staging table, then one statement moves what is new (_keyed_insert).
    cursor.execute(_statement("create_staging"))
    with cursor.cursor.copy(_statement("copy_staging")) as copy:
        copy.write(_copy_data(_STAGED_ROW, copied.rows))
    cursor.execute(_statement("move_staging"))
    return {str(row[0]) for row in cursor.fetchall()}


def _zero_of(columns: list[Field[Any, Any]]) -> dict[str, Any]:
    """Aggregates before any event: what a new rollup or day row starts from."""
    # In the field's Python type (Decimal for numeric): a parameter array must not mix int and Decimal.
    return {f.name: f.to_python(f.get_default()) for f in columns if f.name in FOLD}


_ROLLUP_ZERO, _DAY_ZERO = _zero_of(_ROLLUP), _zero_of(_DAY)
# The aggregates one event contributes (usage.aggregation.event_part), carried from days to periods.
_EVENT_PART = tuple(event_part(Decimal(0), datetime.now(UTC)))


def _rollup_deltas(
    inserted: list[_Prepared], meters: dict[str, Meter]
) -> tuple[Deltas, Days, Uniques]:
    """What the inserted events add to their periods' rollups and to their days' rollups (column ->
    value, folded by the one aggregation rule), and the unique_count values they carry (value key
    -> the day it was seen on)."""
    deltas: Deltas = {}
    days: Days = {}
    uniques: Uniques = {}
    day_period: dict[tuple[str, datetime, date], datetime | None] = {}
    # Each day's quantities and moments, in order, folded at once below.
    day_events: dict[tuple[str, datetime, date], tuple[list[Decimal], list[datetime]]] = {}
    unique_property = {
        code: meter.unique_property
        for code, meter in meters.items()
        if meter.aggregation == Aggregation.UNIQUE_COUNT
    }
    for p in inserted:
        e = p.event
        # _place gave every event its periods.
        period_start = cast(datetime, p.billing_period_start)
        day_key = (e.resource_type, period_start, e.period_start.astimezone(UTC).date())
        events = day_events.get(day_key)
        if events is None:
            events = day_events[day_key] = ([], [])
            day_period[day_key] = p.billing_period_end
        events[0].append(e.quantity)
        events[1].append(e.period_start)
        if e.resource_type in unique_property:
            value = e.properties.get(unique_property[e.resource_type])
            if value is not None and value != "":
                uniques.setdefault((e.resource_type, period_start, str(value)[:255]), day_key)
        if p.late:
            _delta(deltas, e.resource_type, period_start, p.billing_period_end)
            fold(deltas[(e.resource_type, period_start)], {"late_received": e.quantity})
            billed = _delta(
                deltas,
                e.resource_type,
                cast(datetime, p.billed_period_start),
                p.billed_period_end,
            )
            fold(billed, {"late_billed": e.quantity})
    for day_key, (quantities, ats) in day_events.items():
        days[day_key] = fold_events(dict(_DAY_ZERO), quantities, ats)
    # A period's part is its days' parts folded (the rule is associative, and the newest event of
    # the period is the newest of its newest day): one fold per day, not one more per event.
    for (resource, period_start, _), day in days.items():
        d = _delta(deltas, resource, period_start, day_period[(resource, period_start, _)])
        fold(d, {column: day[column] for column in _EVENT_PART})
    return deltas, days, uniques


def _delta(deltas: Deltas, resource: str, period_start: datetime, period_end: Any) -> Row:
    d = deltas.get((resource, period_start))
    if d is None:
        d = deltas[(resource, period_start)] = {**_ROLLUP_ZERO, "period_end": period_end}
    return d


def _count_new_uniques(cursor: CursorWrapper, uniques: Uniques, deltas: Deltas, days: Days) -> None:
    """Store the unique_count values; those new to their period add one to its rollup and day."""
    if not uniques:
        return
    cursor.execute(_INSERT_UNIQUE, [list(c) for c in zip(*uniques, strict=True)])
    for row in _fetch(cursor):
        resource, period_start = row["resource_type"], row["period_start"]
        fold(deltas[(resource, period_start)], {"unique_count": 1})
        fold(days[uniques[(resource, period_start, row["value"])]], {"unique_new": 1})


def _day_rows(days: Days) -> list[tuple[Any, ...]]:
    return [
        _row(_DAY, {**d, "resource_type": resource, "period_start": start, "day": day})
        for (resource, start, day), d in days.items()
    ]


def _rollup_rows(deltas: Deltas) -> list[tuple[Any, ...]]:
    return [
        _row(_ROLLUP, {**d, "resource_type": resource, "period_start": start})
        for (resource, start), d in deltas.items()
    ]


def _ingest_many(
    prepared: list[_Prepared],
    meters: dict[str, Meter],
    now: datetime,
    moments: binary_copy.Memo[datetime, str],
) -> tuple[set[str], list[_Rollup]]:
    rollups: list[_Rollup] = []
    with transaction.atomic(), connection.cursor() as cursor:
        inserted_ids = _insert(cursor, prepared, now, moments)
        inserted = [p for p in prepared if p.event_id in inserted_ids]
        if inserted:
            deltas, days, uniques = _rollup_deltas(inserted, meters)
            _count_new_uniques(cursor, uniques, deltas, days)
            cursor.execute(
                _statement("upsert_rollups"),
                [list(c) for c in zip(*_rollup_rows(deltas), strict=True)],
            )
            rollups = [_Rollup(*row) for row in cursor.fetchall()]
            cursor.execute(
                _statement("upsert_days"), [list(c) for c in zip(*_day_rows(days), strict=True)]
            )
    return inserted_ids, rollups


def _fits_one_statement(p: _Prepared, meters: dict[str, Meter]) -> bool:
    # A late event touches two rollups and a unique_count one needs its value's row first.
    meter = meters.get(p.event.resource_type)
    return not p.late and (meter is None or meter.aggregation != Aggregation.UNIQUE_COUNT)


def _ingest_one(
    p: _Prepared, meters: dict[str, Meter], now: datetime
) -> tuple[set[str], list[_Rollup]]:
    """The single-event API's common case in one round trip (and no BEGIN/COMMIT of its own)."""
    deltas, days, _ = _rollup_deltas(
        [p], meters
    )  # no unique_count meter here (_fits_one_statement)
    (rollup_row,), (day_row,) = _rollup_rows(deltas), _day_rows(days)
    # Prepared on the server: the single-event API runs this statement again and again (issue 21).
    with prepared_cursor() as cursor:
        keyed = p.event.transaction_id is not None or p.idempotency_key is not None
        cursor.execute(
            _statement("ingest_one" if keyed else "ingest_one_unkeyed"),
            [*_event_row(p, now), *rollup_row, *day_row],
        )
        rollups = [_Rollup(*row) for row in cursor.fetchall()]
    return ({p.event_id} if rollups else set()), rollups


def _existing_rows(prepared: list[_Prepared], inserted_ids: set[str]) -> Existing:
    """The stored events (column -> value) that the repeats among `prepared` repeat, by ("tx", id)
    and ("key", key). ON CONFLICT waited for their writers to commit, so they are visible now."""
    repeats = [p for p in prepared if p.event_id not in inserted_ids]
    txs = [p.event.transaction_id for p in repeats if p.event.transaction_id]
    keys = [p.idempotency_key for p in repeats if p.idempotency_key]
    existing: Existing = {}
    with connection.cursor() as cursor:
        cursor.execute(
            _statement("select_existing"), [[UsageEventKey.of_transaction(t) for t in txs], keys]
        )
        for found in _fetch(cursor):
            # The event's month archived (usage_archive): only its key row is left.
            row = found if found["event_id"] is not None else {"event_id": found["key_event_id"]}
            row["archived"] = found["event_id"] is None
            if found["key_key"].startswith("t:"):
                existing[("tx", found["key_key"][2:])] = row
            if found["key_idempotency_key"] is not None:
                existing[("key", found["key_idempotency_key"])] = row
    return existing


def _ingest(
    *,
    tenant: Tenant,
    meters: dict[str, Meter],
    prepared: list[_Prepared],
    now: datetime,
    moments: binary_copy.Memo[datetime, str] | None = None,
) -> tuple[set[str], Existing]:
    """Insert what is new; returns (inserted event ids, existing rows of the duplicates by key).
    `meters`, the tenant's, read once by the request (meters_get)."""
    limits = limits_get(tenant)
    _place(prepared, limits.period_anchor, now)
    if len(prepared) == 1 and _fits_one_statement(prepared[0], meters):
        inserted_ids, rollups = _ingest_one(prepared[0], meters, now)
    else:
        inserted_ids, rollups = _ingest_many(
            prepared, meters, now, moments if moments is not None else _moments()
        )
    existing = _existing_rows(prepared, inserted_ids) if len(inserted_ids) < len(prepared) else {}
    if rollups:  # some event went in
        increments = usage_ingested_increments(
            plan_id=limits.plan_code,
            known=set(limits.limits),
            events=[p.event for p in prepared if p.event_id in inserted_ids],
        )
        transaction.on_commit(lambda: _after_ingest(tenant, meters, rollups, increments))
    return inserted_ids, existing


def _after_ingest(
    tenant: Tenant,
    meters: dict[str, Meter],
    rollups: list[_Rollup],
    increments: list[tuple[str, dict[str, str], Any]],
) -> None:
    values = []
    for r in rollups:
        meter = meters.get(r.resource_type)
        aggregation = meter.aggregation if meter else Aggregation.SUM
        values.append(
            (
                r.resource_type,
                r.period_start,
                rollup_used(r, meter),
                aggregation == Aggregation.LAST,
            )
        )
    # The spend budget's check (alerts and the hard cap) and progressive billing's threshold check,
    # each debounced per tenant and run in a worker (never Stripe on the ingest path): their claims
    # go to Redis with the counters and the business metrics, one round trip (issue 21).
    from budgets.services import budget_check_debounce, budget_usage_recorded
    from commitments.services import usage_threshold_check_soon, usage_threshold_debounce

    budget_due, threshold_due = counters.counters_store(
        tenant.schema_name,
        values,
        claims=[budget_check_debounce(tenant=tenant), usage_threshold_debounce(tenant=tenant)],
        increments=increments,
    )
    for resource, period_start, used, _ in values:
        usage_alerts_fire(tenant=tenant, resource=resource, period_start=period_start, used=used)
    if budget_due:
        budget_usage_recorded(tenant=tenant)
    if threshold_due:
        usage_threshold_check_soon(tenant=tenant)


def _duplicate_of(p: _Prepared, existing: Existing) -> Row | None:
    if p.event.transaction_id is not None and ("tx", p.event.transaction_id) in existing:
        return existing[("tx", p.event.transaction_id)]
    if p.idempotency_key is not None:
        return existing.get(("key", p.idempotency_key))
    return None


def usage_event_ingest(
    *, tenant: Tenant, data: Row, idempotency_key: str | None = None, now: datetime | None = None
) -> tuple[Row, bool]:
    """Record one usage event. Returns (event, created).

    The same `transaction_id`, or the same Idempotency-Key with the same body, returns the original
    event with created=False and counts nothing; the same key with another body raises Conflict
    (`idempotency_conflict`). Invalid input raises InvalidRequest with per-field detail.
    """
    now = now or timezone.now()
    if idempotency_key is not None and len(idempotency_key) > 255:
        raise InvalidRequest("Idempotency-Key is longer than 255 characters.")
    with in_schema(tenant):
        meters = meters_get(tenant=tenant)
        units = {code: m.unit for code, m in meters.items()}
        try:
            event = event_parse(data, units=units, now=now)
        except EventInvalid as exc:
            raise InvalidRequest(str(exc), detail=exc.detail) from exc
        prepared = _Prepared(event=event, idempotency_key=idempotency_key)
        inserted, existing = _ingest(tenant=tenant, meters=meters, prepared=[prepared], now=now)
        if prepared.event_id in inserted:
            return _shown(_event_values(prepared, now)), True
        row = _duplicate_of(prepared, existing)
        if row is None:  # pragma: no cover - a conflict on (id, period_start): none can happen
            raise Conflict("The event could not be stored; retry.")
        if row["archived"]:
            raise Conflict(
                "This event was recorded already; its month is archived.", code="event_archived"
            )
        if event.transaction_id is None or row["transaction_id"] != event.transaction_id:
            if row["fingerprint"] != event.fingerprint():
                raise Conflict(
                    "This Idempotency-Key was used with another request.",
                    code="idempotency_conflict",
                )
        return _shown(row), False


def usage_event_ingest_batch(
    *, tenant: Tenant, events: list[Any], now: datetime | None = None
) -> list[IngestResult]:
    """Record up to MAX_BATCH events at once; each is accepted, a duplicate (of an earlier
    `transaction_id`, also within the batch) or rejected with its validation errors. The good
    events are kept whatever happens to the others."""
    now = now or timezone.now()
    if not isinstance(events, list):
        raise InvalidRequest("events must be a list.", detail={"events": ["Expected a list."]})
    if not events:
        raise InvalidRequest(
            "events must not be empty.", detail={"events": ["Give at least one event."]}
        )
    if len(events) > MAX_BATCH:
        raise InvalidRequest(
            f"At most {MAX_BATCH} events per batch.",
            detail={"events": [f"At most {MAX_BATCH} events, got {len(events)}."]},
        )
    with in_schema(tenant):
        meters = meters_get(tenant=tenant)
        units = {code: m.unit for code, m in meters.items()}
        results: list[IngestResult | None] = []
        prepared: list[tuple[int, _Prepared]] = []
        memo: dict[Any, Any] = {}
        moments = _moments()
        event_ids = _event_ids(len(events))
        for index, raw in enumerate(events):
            try:
                event = event_parse(raw, units=units, now=now, memo=memo, texts=moments)
            except EventInvalid as exc:
                results.append(
                    IngestResult(
                        status="rejected",
                        error={
                            "code": "invalid_request",
                            "message": str(exc),
                            "detail": exc.detail,
                        },
                    )
                )
                continue
            prepared.append((index, _Prepared(event, None, event_ids[index])))
            results.append(None)
        if prepared:
            inserted, existing = _ingest(
                tenant=tenant,
                meters=meters,
                prepared=[p for _, p in prepared],
                now=now,
                moments=moments,
            )
            for index, p in prepared:
                if p.event_id in inserted:
                    results[index] = IngestResult(status="accepted", event={"event_id": p.event_id})
                else:
                    row = _duplicate_of(p, existing)
                    results[index] = IngestResult(
                        status="duplicate",
                        event={"event_id": str(row["event_id"]) if row else None},
                    )
    # The None placeholders were the parsed events: each got its result above.
    return cast("list[IngestResult]", results)


def usage_alerts_fire(
    *, tenant: Tenant, resource: str, period_start: datetime, used: Decimal
) -> list[int]:
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
                resource_type=resource,
                period_start=period_start,
                threshold=threshold,
                defaults={"used": used, "limit": limit},
            )
            if created:
                kind = "usage_limit_exceeded" if threshold >= 100 else "usage_threshold_reached"
                period = f"{period_start:%Y-%m-%d}"
                billing_event_emit(
                    tenant=tenant,
                    kind=kind,
                    object_id=f"{resource}:{period}",
                    dedup_key=f"{kind}:{resource}:{period}:{threshold}",
                    data={
                        "resource_type": resource,
                        "threshold": threshold,
                        "used": str(used),
                        "limit": limit,
                        "period_start": period_start.isoformat(),
                    },
                )
                fired.append(threshold)
        counters.alert_mark(tenant.schema_name, resource, period_start, threshold)
    return fired


def usage_counters_reset(*, tenant: Tenant, resource: str, period_start: datetime) -> None:
    """Forget a cached counter (it is rebuilt from the rollup on the next check)."""
    counters.counter_forget(tenant.schema_name, resource, period_start)
