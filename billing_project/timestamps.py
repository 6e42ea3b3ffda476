"""Unix timestamps (Stripe's `created`, `period.start`, `trial_end`, ...) as aware UTC datetimes, and
aware datetimes as the API writes time."""

from __future__ import annotations

from datetime import UTC, datetime


def from_ts(value) -> datetime | None:
    """The UTC datetime of a Unix timestamp (int or numeric string); None for None, 0 or ""."""
    return datetime.fromtimestamp(int(value), tz=UTC) if value else None


def iso_utc(moment: datetime) -> str:
    """An aware datetime as the API writes time (API.md): ISO 8601 in UTC with "Z", as DRF's
    DateTimeField renders it while UTC is the current time zone (always, on the API)."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
