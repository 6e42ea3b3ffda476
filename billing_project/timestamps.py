"""Unix timestamps (Stripe's `created`, `period.start`, `trial_end`, ...) as aware UTC datetimes."""

from __future__ import annotations

from datetime import UTC, datetime


def from_ts(value) -> datetime | None:
    """The UTC datetime of a Unix timestamp (int or numeric string); None for None, 0 or ""."""
    return datetime.fromtimestamp(int(value), tz=UTC) if value else None
