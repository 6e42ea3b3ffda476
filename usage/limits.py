"""The tenant's limits, as usage needs them: per resource a limit (None = unlimited), hard or soft,
and the alert thresholds; plus the billing period that contains a moment.

The subscriptions app owns entitlements (`subscriptions.selectors.entitlements_get`; a tenant
without a paying subscription is on the catalog's free plan). Hard/soft (`Plan.hard_limits`) and the alert thresholds
(`Plan.alert_thresholds`) are the effective plan's. Answers are kept per process until they change
(tenants.cache), at most CACHE_SECONDS, because the ingest and entitlement-check paths ask on every
request.
"""

from __future__ import annotations

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


def _load(tenant) -> Limits:
    # Inside the function: subscriptions builds on usage (subscriptions.signals imports limits_key).
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


def limits_key(schema_name: str) -> str:
    """The per-process cache entry (tenants.cache) of a tenant's limits: a change of its billing
    account drops it in every process (subscriptions.signals), a plan change drops every entry."""
    return f"limits:{schema_name}"


def limits_get(tenant) -> Limits:
    """The tenant's current limits, kept per process (tenants.cache) until its billing account or a
    plan changes, so every worker on every node follows a new plan from its next request (the
    dashboard right after subscribing shows the new plan's limits, whichever worker serves it).
    At most CACHE_SECONDS: the plan in effect also changes with the clock (a grace period or a
    downgrade's paid period ends) without any write to announce it."""
    from tenants.cache import cached

    return cached(limits_key(tenant.schema_name), lambda: _load(tenant), seconds=CACHE_SECONDS)


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
