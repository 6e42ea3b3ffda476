"""The tenant's limits, as usage needs them: per resource a limit (None = unlimited), hard or soft,
and the alert thresholds; plus the billing period that contains a moment.

The subscriptions app owns entitlements (`subscriptions.selectors.entitlements_get`; a tenant
without a paying subscription is on the catalog's free plan). Hard/soft (`Plan.hard_limits`) and the alert thresholds
(`Plan.alert_thresholds`) are the effective plan's. Answers are cached per process for a few seconds
because the ingest and entitlement-check paths ask on every request.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from dateutil.relativedelta import relativedelta

DEFAULT_THRESHOLDS = (80, 100)
CACHE_SECONDS = 10


@dataclass(frozen=True)
class Limits:
    plan_code: str | None
    limits: dict[str, int | None]
    hard: frozenset[str]
    thresholds: tuple[int, ...] = DEFAULT_THRESHOLDS
    period_anchor: datetime | None = field(default=None, compare=False)

    def limit_of(self, resource: str) -> int | None:
        return self.limits.get(resource)

    def is_hard(self, resource: str) -> bool:
        return resource in self.hard


_cache: dict[str, tuple[float, Limits, int | None]] = {}
_lock = threading.Lock()


def _load(tenant) -> Limits:
    # Inside the function: subscriptions' state module imports this one (limits_forget).
    from subscriptions.selectors import billing_account_get, entitlements_get

    plan = entitlements_get(tenant=tenant).plan
    thresholds = plan.alert_thresholds
    if thresholds is None:
        thresholds = DEFAULT_THRESHOLDS
    # Usage periods follow the live subscription's billing cycle.
    account = billing_account_get(tenant=tenant)
    anchor = account.current_period_start if account is not None and account.is_live else None
    return Limits(
        plan_code=plan.code,
        limits=dict(plan.limits or {}),
        hard=frozenset(plan.hard_limits or []),
        thresholds=tuple(sorted(int(t) for t in thresholds)),
        period_anchor=anchor,
    )


def limits_get(tenant) -> Limits:
    """The tenant's current limits, cached for CACHE_SECONDS in this process and only while the
    shared epoch (tenants.cache) is unchanged: a subscription change bumps it, so every worker on
    every node follows a new plan from its next request (the dashboard right after subscribing shows
    the new plan's limits, whichever worker serves it). Without Redis the copy lives CACHE_SECONDS."""
    from tenants.cache import epoch

    now = time.monotonic()
    key = tenant.schema_name
    current = epoch()
    hit = _cache.get(key)
    if hit is not None and hit[0] > now and hit[2] == current:
        return hit[1]
    limits = _load(tenant)
    with _lock:
        _cache[key] = (now + CACHE_SECONDS, limits, current)
    return limits


def limits_forget(tenant=None) -> None:
    """Drop cached limits (tests, or after a plan change in this process)."""
    with _lock:
        if tenant is None:
            _cache.clear()
        else:
            _cache.pop(tenant.schema_name, None)


def billing_period(at: datetime, anchor: datetime | None = None) -> tuple[datetime, datetime]:
    """The billing period [start, end) holding `at`: monthly from the subscription's anchor, or the
    calendar month in UTC for a tenant without a subscription."""
    at = at.astimezone(UTC)
    if anchor is None:
        start = at.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        return start, start + relativedelta(months=1)
    anchor = anchor.astimezone(UTC)
    months = (at.year - anchor.year) * 12 + (at.month - anchor.month)
    start = anchor + relativedelta(months=months)
    if start > at:
        start = anchor + relativedelta(months=months - 1)
    elif start + relativedelta(months=1) <= at:
        start = anchor + relativedelta(months=months + 1)
    # Periods are computed from the anchor (not chained) so a 31st anchor stays on month ends.
    months = (start.year - anchor.year) * 12 + (start.month - anchor.month)
    return start, anchor + relativedelta(months=months + 1)
