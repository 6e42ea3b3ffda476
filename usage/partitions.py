"""The usage events table is partitioned by month: the DDL of its partitions, in the current schema.

`usage_usageevent` is a PostgreSQL declaratively partitioned table, `PARTITION BY RANGE
(period_start)`: the event's time, the column that places it in a billing period. Each UTC calendar
month is one partition, `usage_usageevent_pYYYY_MM`, holding [first of the month, first of the
next); a DEFAULT partition, `usage_usageevent_default`, takes any event no monthly partition holds
(far in the past or the future, or a month not created yet), so an event is never refused or lost
for want of a partition. Beat creates the current and the next MONTHS_AHEAD months ahead
(`usage_partitions_ensure`); a month created while the DEFAULT partition holds some of its events
takes them over in the same transaction.

Deduplication. PostgreSQL requires every unique constraint of a partitioned table to include the
partition key, so `UNIQUE (transaction_id)` could only be `UNIQUE (transaction_id, period_start)`:
per month, and a retry sent with another `period_start` would be counted twice. The keys therefore
live in their own small, non-partitioned table, `usage_usageeventkey` (`UsageEventKey`): one narrow
row per event that carries a `transaction_id` or an Idempotency-Key, its primary key `t:<transaction
id>` (or `k:<key>` without one) and the Idempotency-Key unique too. Ingest inserts an event's key row
first (`ON CONFLICT DO NOTHING`, no conflict target: either key already taken skips it) and inserts
the event only when its key row went in, in the same statement; so a key is refused across every
month, also between concurrent requests (the second waits on the first's key row, as it did on the
events table's unique index before). A batch whose keys are all new copies its key rows and events
straight in, in a savepoint; a key taken already fails that COPY on the same unique index (after
waiting for a concurrent writer's commit) and the batch takes the statement above instead
(usage.services.ingest). The key row points at its event by (id, period_start), the
events' primary key (ingest draws the id from the events' sequence itself), so the events table
needs no other unique index: a batch event with a transaction_id writes one small heap row more than
before and as many index entries (measured: the batch move is as fast as before). Key rows are kept
when their month is archived: a key stays refused forever, and a retry of an archived event is
answered as a duplicate (batch) or with `event_archived` (single event) instead of being billed
again.
The events table itself keeps `PRIMARY KEY (id, period_start)`; `event_id` (a uuid4) has no index.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from dateutil.relativedelta import relativedelta

PARENT = "usage_usageevent"
DEFAULT = f"{PARENT}_default"
# The events' id sequence (identity): ingest draws ids itself so the key row can point at its event.
SEQUENCE = f"{PARENT}_id_seq"
MONTHS_AHEAD = 2
# An event's UsageEventKey.key from its columns (see UsageEventKey).
KEY_SQL = (
    "CASE WHEN transaction_id IS NOT NULL THEN 't:' || transaction_id "
    "ELSE 'k:' || idempotency_key END"
)
_MONTHLY = re.compile(rf"^{PARENT}_p(\d{{4}})_(\d{{2}})$")
# Serialises partition DDL per schema (ensure, archive) against itself: with the schema's name.
_LOCK_CLASS = 7_240_020


@dataclass(frozen=True)
class Partition:
    """One monthly partition: its table and the UTC month [start, end) it holds."""

    name: str
    start: datetime
    end: datetime

    @property
    def month(self) -> str:
        return f"{self.start:%Y-%m}"


def month_start(at: datetime) -> datetime:
    """The first instant (UTC) of the calendar month holding `at`."""
    return at.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def month_partition(start: datetime) -> Partition:
    start = month_start(start)
    return Partition(
        name=f"{PARENT}_p{start:%Y_%m}", start=start, end=start + relativedelta(months=1)
    )


def _literal(at: datetime) -> str:
    return f"'{at.astimezone(UTC):%Y-%m-%d %H:%M:%S}+00'"


def lock(cursor) -> None:
    """Hold this schema's partition-DDL lock until the transaction ends."""
    cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(current_schema()))", [_LOCK_CLASS])


def is_partitioned(cursor) -> bool:
    cursor.execute("SELECT c.relkind = 'p' FROM pg_class c WHERE c.oid = to_regclass(%s)", [PARENT])
    row = cursor.fetchone()
    return bool(row and row[0])


def partitions_list(cursor) -> list[Partition]:
    """The monthly partitions attached to the events table, oldest first (not the DEFAULT one)."""
    cursor.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = to_regclass(%s)",
        [PARENT],
    )
    found = []
    for (name,) in cursor.fetchall():
        match = _MONTHLY.match(name)
        if match:
            found.append(month_partition(datetime(int(match[1]), int(match[2]), 1, tzinfo=UTC)))
    return sorted(found, key=lambda p: p.start)


def default_create(cursor) -> None:
    cursor.execute(f"CREATE TABLE IF NOT EXISTS {DEFAULT} PARTITION OF {PARENT} DEFAULT")


def _bounds(part: Partition) -> tuple[str, str]:
    """The partition's FOR VALUES clause and the matching condition on period_start."""
    return (
        f"FROM ({_literal(part.start)}) TO ({_literal(part.end)})",
        f"period_start >= {_literal(part.start)} AND period_start < {_literal(part.end)}",
    )


def _default_has(cursor, part: Partition) -> bool:
    """Whether the DEFAULT partition holds events of the month. The events table stays locked
    against inserts until the transaction ends: no row of the range may arrive before the month is
    attached, and the lock is taken on the parent before its partitions, in ingest's order (locking
    the DEFAULT partition first could deadlock with an insert holding the parent)."""
    cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [DEFAULT])
    if not cursor.fetchone()[0]:
        return False
    cursor.execute(f"LOCK TABLE {PARENT} IN SHARE ROW EXCLUSIVE MODE")
    cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {DEFAULT} WHERE {_bounds(part)[1]})")
    return bool(cursor.fetchone()[0])


def month_attach(cursor, part: Partition) -> None:
    """Attach the detached table `part.name` as the month's partition again, taking over the
    month's events the DEFAULT partition received meanwhile. Call under `lock`, in a transaction."""
    bounds, in_range = _bounds(part)
    if _default_has(cursor, part):
        cursor.execute(
            f"WITH moved AS (DELETE FROM {DEFAULT} WHERE {in_range} RETURNING *) "
            f"INSERT INTO {part.name} SELECT * FROM moved"
        )
    # The CHECK spares ATTACH a scan of the table; it is redundant afterwards.
    cursor.execute(f"ALTER TABLE {part.name} ADD CONSTRAINT {part.name}_range CHECK ({in_range})")
    cursor.execute(f"ALTER TABLE {PARENT} ATTACH PARTITION {part.name} FOR VALUES {bounds}")
    cursor.execute(f"ALTER TABLE {part.name} DROP CONSTRAINT {part.name}_range")


def month_detach(cursor, part: Partition) -> None:
    """Detach the month's partition (a plain table afterwards; new events of the month go to the
    DEFAULT partition). Call under `lock`, in a transaction."""
    cursor.execute(f"ALTER TABLE {PARENT} DETACH PARTITION {part.name}")


def month_create(cursor, start: datetime) -> bool:
    """Create the month's partition unless it exists; True when created. Events of that month
    waiting in the DEFAULT partition move into it (PostgreSQL refuses a new partition whose
    range the DEFAULT partition still holds rows of). Call under `lock`, in a transaction."""
    part = month_partition(start)
    cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [part.name])
    if cursor.fetchone()[0]:
        return False
    if not _default_has(cursor, part):
        cursor.execute(
            f"CREATE TABLE {part.name} PARTITION OF {PARENT} FOR VALUES {_bounds(part)[0]}"
        )
        return True
    cursor.execute(
        f"CREATE TABLE {part.name} "
        f"(LIKE {PARENT} INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE)"
    )
    month_attach(cursor, part)
    return True


def months_ensure(cursor, *, now: datetime, ahead: int = MONTHS_AHEAD) -> list[str]:
    """The DEFAULT partition and those of `now`'s month and the `ahead` next ones; the names of
    the partitions created (none when all exist: a catalog read, nothing else)."""
    wanted = [month_partition(month_start(now) + relativedelta(months=n)) for n in range(ahead + 1)]
    cursor.execute(
        "SELECT count(*) FROM pg_class WHERE relnamespace = current_schema()::regnamespace "
        "AND relname = ANY(%s)",
        [[p.name for p in wanted] + [DEFAULT]],
    )
    if cursor.fetchone()[0] == len(wanted) + 1:
        return []
    lock(cursor)
    default_create(cursor)
    return [p.name for p in wanted if month_create(cursor, p.start)]
