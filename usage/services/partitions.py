"""Writes on the monthly partitions of the usage events table (usage.partitions has the design):
creating them ahead (beat) and archiving invoiced months to object storage.

Archive of one month: the partition is detached (a short lock on the events table), its rows are
dumped as gzipped CSV with a header (`COPY ... TO STDOUT`) through Django's default storage (the
S3-compatible bucket when STORAGE_S3_BUCKET is set, local disk otherwise), the stored file is read
back and its rows counted, and only when the count matches is the table dropped; on any failure
the table is attached again. Totals never read events (rollups hold them), so summaries and invoices
stay exact after archiving; the events' keys stay in `UsageEventKey` (a retry is still refused).

A month is archivable when it ended before every billing period its events count in or are billed
by was invoiced: invoices are cut when a period ends (plus the meter push's grace,
`CLOSED_PERIOD_GRACE`), so a period is invoiced once the billing period holding (now - grace) has
begun after it. Late events (received after their period's invoice) are billed by a later period
(`billed_period_start`), which is checked too.
"""

from __future__ import annotations

import csv
import gzip
import logging
import tempfile
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from django.core.files import File
from django.core.files.storage import default_storage
from django.db import connection, transaction

from usage import partitions
from usage.limits import billing_period, limits_get
from usage.schema import in_schema
from usage.services.metering import CLOSED_PERIOD_GRACE

if TYPE_CHECKING:
    from django.db.backends.utils import CursorWrapper

    from tenants.models import Tenant

logger = logging.getLogger(__name__)

ARCHIVE_DIR = "usage-archive"


def _tenant_now(tenant: Tenant) -> datetime:
    # Inside the function: subscriptions imports usage (limits).
    from subscriptions.selectors import tenant_now

    return tenant_now(tenant)


def usage_partitions_ensure(*, tenant: Tenant, now: datetime | None = None) -> list[str]:
    """Make sure the tenant's events table has its DEFAULT partition and the partitions of the
    current month and the next `partitions.MONTHS_AHEAD` months (in the tenant's time: its test
    clock's when it lives on one). Idempotent; returns the partitions created (usually none: one
    catalog read)."""
    now = now or _tenant_now(tenant)
    with in_schema(tenant), transaction.atomic(), connection.cursor() as cursor:
        created = partitions.months_ensure(cursor, now=now)
    if created:
        logger.info("usage partitions created in %s: %s", tenant.schema_name, ", ".join(created))
    return created


@dataclass
class ArchiveOutcome:
    """One month's partition: `archived`, `would_archive` (dry run) or `refused` (with `reason`)."""

    partition: str
    month: str
    rows: int
    status: str
    file: str = ""
    reason: str = ""


def invoiced_before(*, tenant: Tenant, now: datetime) -> datetime:
    """Billing periods that started before this moment are invoiced."""
    return billing_period(now - CLOSED_PERIOD_GRACE, limits_get(tenant).period_anchor)[0]


def _month_state(
    cursor: CursorWrapper, part: partitions.Partition, invoiced: datetime
) -> tuple[int, int]:
    """(events, events counted or billed in a period not invoiced yet) of the partition."""
    cursor.execute(
        f"SELECT count(*), count(*) FILTER (WHERE billing_period_start >= %s "
        f"OR billed_period_start >= %s) FROM {part.name}",
        [invoiced, invoiced],
    )
    rows, open_rows = cursor.fetchone()
    return rows, open_rows


def _dump(cursor: CursorWrapper, part: partitions.Partition, name: str) -> str:
    """The table's rows as gzipped CSV (with a header) saved under `name`; the stored name."""
    with tempfile.TemporaryFile() as raw:
        with gzip.GzipFile(fileobj=raw, mode="wb") as gz:
            with cursor.cursor.copy(
                f"COPY (SELECT * FROM {part.name} ORDER BY id) TO STDOUT WITH (FORMAT csv, HEADER)"
            ) as copy:
                for chunk in copy:
                    gz.write(chunk)
        raw.seek(0)
        if default_storage.exists(name):  # a run that failed before its drop left it
            default_storage.delete(name)
        return default_storage.save(name, File(raw, name=name.rsplit("/", 1)[-1]))


def _stored_rows(name: str) -> int:
    """Records in the stored dump (its header excluded), read back from storage."""
    with default_storage.open(name, "rb") as stored, gzip.open(stored, "rt", newline="") as text:
        return sum(1 for _ in csv.reader(text)) - 1


def _archive_one(
    tenant: Tenant, cursor: CursorWrapper, part: partitions.Partition, rows: int
) -> ArchiveOutcome:
    with transaction.atomic():
        partitions.lock(cursor)
        partitions.month_detach(cursor, part)
    name = f"{ARCHIVE_DIR}/{tenant.schema_name}/{part.name}.csv.gz"
    try:
        stored = _dump(cursor, part, name)
        found = _stored_rows(stored)
        if found != rows:
            raise RuntimeError(f"the dump of {part.name} holds {found} rows, not {rows}")
    except Exception:
        with transaction.atomic():
            partitions.lock(cursor)
            partitions.month_attach(cursor, part)
        raise
    cursor.execute(f"DROP TABLE {part.name}")
    logger.info("usage partition %s of %s archived to %s", part.name, tenant.schema_name, stored)
    return ArchiveOutcome(part.name, part.month, rows, "archived", file=stored)


def usage_archive(
    *, tenant: Tenant, before: datetime, dry_run: bool = False, now: datetime | None = None
) -> list[ArchiveOutcome]:
    """Archive the tenant's monthly event partitions that end on or before `before` and whose
    billing periods are all invoiced: detach, dump to the default storage, verify, drop. A month
    with events of periods not invoiced yet is refused (`refused`, with the reason); a dry run
    reports what would happen (`would_archive`) and changes nothing."""
    now = now or _tenant_now(tenant)
    invoiced = invoiced_before(tenant=tenant, now=now)
    outcomes = []
    with in_schema(tenant), connection.cursor() as cursor:
        for part in partitions.partitions_list(cursor):
            if part.end > before:
                continue
            rows, open_rows = _month_state(cursor, part, invoiced)
            if part.end > invoiced or open_rows:
                what = (
                    f"{open_rows} event(s) counted or billed in a billing period"
                    if open_rows
                    else "the month ends in a billing period"
                )
                reason = f"{what} not invoiced yet (periods from {invoiced:%Y-%m-%d} on are open)"
                outcomes.append(
                    ArchiveOutcome(part.name, part.month, rows, "refused", reason=reason)
                )
            elif dry_run:
                outcomes.append(ArchiveOutcome(part.name, part.month, rows, "would_archive"))
            else:
                outcomes.append(_archive_one(tenant, cursor, part, rows))
    return outcomes
