"""Reads of the usage app. Totals come from rollups (one row per resource and period), never from
a scan of events; event lists and reports walk an index in pages or a server-side cursor."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import QuerySet
from django.utils import timezone as dj_timezone

from billing_project.errors import InvalidRequest
from usage import counters
from usage.aggregation import aggregate_value
from usage.limits import Limits, billing_period, limits_get
from usage.models import (
    Aggregation,
    Meter,
    UsageDailyRollup,
    UsageEvent,
    UsageEventKey,
    UsageRollup,
)
from usage.schema import in_schema


def meters_key(schema_name: str) -> str:
    """The per-process cache entry (tenants.cache) of a tenant's active meters: a meter's save or
    delete drops it in every process (usage.signals)."""
    return f"meters:{schema_name}"


def meters_get(*, tenant) -> dict[str, Meter]:
    """The tenant's active meters by code, kept per process until one of them changes: ingest asks
    on every event, and a meter made unique_count or inactive must apply in every worker from its
    next event."""
    from tenants.cache import cached

    def load() -> dict[str, Meter]:
        with in_schema(tenant):
            return {m.code: m for m in Meter.objects.filter(is_active=True)}

    return cached(meters_key(tenant.schema_name), load)


def rollup_used(rollup, meter: Meter | None) -> Decimal:
    """The period's value of a resource under its meter's aggregation."""
    return aggregate_value(
        meter.aggregation if meter is not None else Aggregation.SUM,
        total=rollup.total,
        count=rollup.event_count,
        max_value=rollup.max_value,
        last_value=rollup.last_value,
        unique=rollup.unique_count,
    )


def rollup_billable(rollup) -> Decimal:
    """What a period's invoice bills of a (sum) resource: its own events except those that arrived
    after it was invoiced (a later period bills them), plus the late ones of earlier periods."""
    return rollup.total - rollup.late_received + rollup.late_billed


def period_resolve(
    *, tenant, period: str | None, now: datetime | None = None
) -> tuple[datetime, datetime]:
    """`current` (default) or `YYYY-MM` -> the billing period [start, end)."""
    limits = limits_get(tenant)
    now = now or dj_timezone.now()
    if not period or period == "current":
        return billing_period(now, limits.period_anchor)
    try:
        at = datetime.strptime(period, "%Y-%m").replace(tzinfo=UTC)
    except ValueError:
        raise InvalidRequest(
            "period is 'current' or YYYY-MM.", detail={"period": ["Use 'current' or YYYY-MM."]}
        ) from None
    # The billing period that starts in that month (a calendar month without a subscription).
    start, end = billing_period(at, limits.period_anchor)
    return (start, end) if start >= at else billing_period(end, limits.period_anchor)


@dataclass(frozen=True)
class ResourceUsage:
    resource_type: str
    used: Decimal
    limit: int | None
    percent: Decimal | None
    unit: str
    status: str
    period_start: datetime
    period_end: datetime


def usage_status(
    used: Decimal, limit: int | None, thresholds: tuple[int, ...]
) -> tuple[Decimal | None, str]:
    """(percent with two places or None, "ok" | "warning" | "exceeded")."""
    if limit is None:
        return None, "ok"
    if limit == 0:
        return (Decimal("100.00") if used > 0 else Decimal("0.00")), (
            "exceeded" if used > 0 else "ok"
        )
    percent = (used * 100 / limit).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    if used >= limit:
        return percent, "exceeded"
    warn_at = min(thresholds) if thresholds else 80
    return percent, ("warning" if percent >= warn_at else "ok")


def usage_summary_get(*, tenant, period: str | None = None) -> list[ResourceUsage]:
    """Every resource with a limit in the tenant's plan or a rollup in the period."""
    start, end = period_resolve(tenant=tenant, period=period)
    limits: Limits = limits_get(tenant)
    meters = meters_get(tenant=tenant)
    rollups = {r.resource_type: r for r in UsageRollup.objects.filter(period_start=start)}
    result = []
    for resource in sorted(set(limits.limits) | set(rollups)):
        meter = meters.get(resource)
        rollup = rollups.get(resource)
        used = rollup_used(rollup, meter) if rollup is not None else Decimal(0)
        limit = limits.limit_of(resource)
        percent, status = usage_status(used, limit, limits.thresholds)
        result.append(
            ResourceUsage(
                resource_type=resource,
                used=used,
                limit=limit,
                percent=percent,
                unit=meter.unit if meter else "units",
                status=status,
                period_start=start,
                period_end=end,
            )
        )
    return result


def _day_value(row, aggregation: str) -> Decimal:
    return aggregate_value(
        aggregation,
        total=row.total,
        count=row.event_count,
        max_value=row.max_value,
        last_value=row.last_value,
        unique=row.unique_new,
    )


def _running(previous: Decimal, row, value: Decimal, aggregation: str) -> Decimal:
    """The period's value at the end of a day with events, from the value at the end of the day before."""
    if aggregation == Aggregation.MAX:
        return max(previous, value)
    if aggregation == Aggregation.LAST or (
        aggregation == Aggregation.UNIQUE_COUNT and not row.unique_new
    ):
        return value
    return previous + value


def usage_daily_get(*, tenant, period: str | None = "current") -> list[dict]:
    """Per resource of the summary, its period day by day (UTC days, every day of the period up to
    today present): `value` is the day's own aggregate and `cumulative` the period's value at the
    end of that day, as the meter aggregates it. Reads the daily rollups, never events."""
    start, end = period_resolve(tenant=tenant, period=period)
    limits = limits_get(tenant)
    with in_schema(tenant):
        meters = meters_get(tenant=tenant)
        rows: dict[str, dict[date, UsageDailyRollup]] = {}
        for stored in UsageDailyRollup.objects.filter(period_start=start):
            rows.setdefault(stored.resource_type, {})[stored.day] = stored
    first = start.astimezone(UTC).date()
    period_last = (end - timedelta(microseconds=1)).astimezone(UTC).date()
    today = dj_timezone.now().astimezone(UTC).date()
    last_seen = max((day for per_day in rows.values() for day in per_day), default=first)
    last = min(period_last, max(today, last_seen))
    series = []
    for resource in sorted(set(limits.limits) | set(rows)):
        meter = meters.get(resource)
        aggregation = meter.aggregation if meter is not None else Aggregation.SUM
        per_day = rows.get(resource, {})
        days, cumulative = [], Decimal(0)
        for offset in range((last - first).days + 1):
            day = first + timedelta(days=offset)
            row = per_day.get(day)
            value = Decimal(0)
            if row is not None:
                value = _day_value(row, aggregation)
                cumulative = _running(cumulative, row, value, aggregation)
            days.append({"day": day, "value": value, "cumulative": cumulative})
        series.append(
            {
                "resource_type": resource,
                "unit": meter.unit if meter else "units",
                "limit": limits.limit_of(resource),
                "period_start": start,
                "period_end": end,
                "days": days,
            }
        )
    return series


@dataclass(frozen=True)
class OverageEstimate:
    resource_type: str
    above: Decimal  # billable units above the plan's allowance so far this period
    amount: int  # minor units: the usage line the renewal invoice will carry for them
    currency: str
    unit_amount: int  # per block_size units
    block_size: int
    billable: Decimal = Decimal(0)  # the period's billable units so far (allowance included)


def overage_charge(plan, billable: Decimal) -> tuple[Decimal, int]:
    """(units above the allowance, their charge in minor units) for `billable` units of a plan
    with an overage price: the allowance free, then unit_amount per block_size units, pro rata,
    rounded once half-up, as Stripe's graduated price bills them."""
    above = max(billable - plan.overage_limit, Decimal(0))
    amount = (above * plan.overage_unit_amount / plan.overage_block_size).quantize(
        Decimal(1), rounding=ROUND_HALF_UP
    )
    return above, int(amount)


def usage_overage_estimate(*, tenant) -> OverageEstimate | None:
    """What the current period's usage above the limit adds to the next invoice, computed as the
    plan's graduated overage price does (the allowance free, then unit_amount per block_size units,
    pro rata, rounded once half-up). None without a live monthly subscription on a plan with an
    overage (a yearly plan's allowance spans its year, not this usage period)."""
    from subscriptions.selectors import billing_account_get, plan_paid_for

    account = billing_account_get(tenant=tenant)
    if account is None or not account.is_live or account.billing_cycle != "monthly":
        return None
    plan = plan_paid_for(account)
    if plan is None or not plan.has_overage or plan.overage_limit is None:
        return None
    start, _ = period_resolve(tenant=tenant, period="current")
    with in_schema(tenant):
        rollup = UsageRollup.objects.filter(
            resource_type=plan.overage_resource, period_start=start
        ).first()
    billable = rollup_billable(rollup) if rollup is not None else Decimal(0)
    above, amount = overage_charge(plan, billable)
    return OverageEstimate(
        resource_type=plan.overage_resource,
        above=above,
        amount=amount,
        currency=plan.currency,
        unit_amount=plan.overage_unit_amount,
        block_size=plan.overage_block_size,
        billable=billable,
    )


def usage_used_get(*, tenant, resource: str, period_start: datetime) -> Decimal:
    """A resource's value in a period: the Redis counter, or the rollup (then cached)."""
    used = counters.counter_get(tenant.schema_name, resource, period_start)
    if used is not None:
        return used
    rollup = UsageRollup.objects.filter(resource_type=resource, period_start=period_start).first()
    meter = meters_get(tenant=tenant).get(resource)
    used = rollup_used(rollup, meter) if rollup is not None else Decimal(0)
    counters.counters_store(tenant.schema_name, [(resource, period_start, used, True)])
    return used


@dataclass(frozen=True)
class EntitlementCheck:
    allowed: bool
    remaining: Decimal | None
    limit: int | None
    used: Decimal


def entitlement_check(*, tenant, resource: str, quantity: Decimal) -> EntitlementCheck:
    """May the tenant use `quantity` more of `resource` now? Hard limits deny beyond the limit;
    soft limits allow (the overage is billed)."""
    limits = limits_get(tenant)
    if resource not in limits.limits and resource not in meters_get(tenant=tenant):
        raise InvalidRequest(
            f"Unknown resource {resource!r}.", detail={"resource": ["Unknown resource type."]}
        )
    start, _ = billing_period(dj_timezone.now(), limits.period_anchor)
    used = usage_used_get(tenant=tenant, resource=resource, period_start=start)
    limit = limits.limit_of(resource)
    if limit is None:
        return EntitlementCheck(allowed=True, remaining=None, limit=None, used=used)
    remaining = max(Decimal(limit) - used, Decimal(0))
    allowed = used + quantity <= limit or not limits.is_hard(resource)
    return EntitlementCheck(allowed=allowed, remaining=remaining, limit=limit, used=used)


def usage_event_list(*, tenant, filters: dict | None = None) -> QuerySet[UsageEvent]:
    """The tenant's events, newest first; filters: resource_type, source, transaction_id, late,
    from / to (on period_start)."""
    filters = filters or {}
    qs = UsageEvent.objects.all()
    for name in ("resource_type", "source", "transaction_id", "late"):
        if filters.get(name) is not None:
            qs = qs.filter(**{name: filters[name]})
    if filters.get("transaction_id") is not None:
        # The key table's unique index finds it (its row points at the event's primary key); the
        # partitioned events have no index on it.
        keys = UsageEventKey.objects.filter(
            key=UsageEventKey.of_transaction(filters["transaction_id"])
        )
        qs = qs.filter(id__in=keys.values("event_pk"))
    if filters.get("from") is not None:
        qs = qs.filter(period_start__gte=filters["from"])
    if filters.get("to") is not None:
        qs = qs.filter(period_start__lt=filters["to"])
    return qs


REPORT_COLUMNS = (
    "event_id",
    "resource_type",
    "quantity",
    "unit",
    "period_start",
    "period_end",
    "source",
    "transaction_id",
    "late",
    "billing_period_start",
    "received_at",
)


def usage_report_rows(
    *,
    tenant,
    start: datetime,
    end: datetime,
    resource_type: str | None = None,
    chunk_size: int = 5000,
) -> Iterator[tuple]:
    """Events with period_start in [start, end) in time order, read through a server-side cursor
    (constant memory whatever the size)."""
    # Streamed responses are iterated after the view returned (and the request's schema was reset).
    with in_schema(tenant):
        qs = usage_event_list(
            tenant=tenant, filters={"from": start, "to": end, "resource_type": resource_type}
        )
        yield from (
            qs.order_by("period_start", "id")
            .values_list(*REPORT_COLUMNS)
            .iterator(chunk_size=chunk_size)
        )


def usage_report_count(*, tenant, start: datetime, end: datetime) -> int:
    """Number of events in [start, end), from the rollups when the range is whole periods."""
    return sum(
        UsageRollup.objects.filter(period_start__gte=start, period_start__lt=end).values_list(
            "event_count", flat=True
        )
    )


@dataclass(frozen=True)
class ReconcileRow:
    collector: str
    resource_type: str
    seen: Decimal | None
    billed: Decimal
    pushed: Decimal | None
    failed_runs: int

    @property
    def drift(self) -> Decimal | None:
        return None if self.seen is None else self.billed - self.seen


def usage_reconcile_rows(*, tenant, start: datetime, end: datetime) -> list[ReconcileRow]:
    """Per collector: the last count it saw in [start, end), what the period bills for its resource
    (the rollup under the meter's aggregation) and what was pushed to Stripe, if metered."""
    from usage.models import Collector, CollectorRun, MeterPush

    with in_schema(tenant):
        meters = meters_get(tenant=tenant)
        rows = []
        for collector in Collector.objects.all():
            runs = CollectorRun.objects.filter(
                collector=collector, started_at__gte=start, started_at__lt=end
            )
            last_ok = runs.filter(status=CollectorRun.Status.OK).order_by("-started_at").first()
            rollup = UsageRollup.objects.filter(
                resource_type=collector.resource_type, period_start=start
            ).first()
            push = MeterPush.objects.filter(
                resource_type=collector.resource_type, period_start=start
            ).first()
            rows.append(
                ReconcileRow(
                    collector=collector.name,
                    resource_type=collector.resource_type,
                    seen=last_ok.count if last_ok else None,
                    billed=rollup_used(rollup, meters.get(collector.resource_type))
                    if rollup
                    else Decimal(0),
                    pushed=push.pushed_quantity if push else None,
                    failed_runs=runs.filter(status=CollectorRun.Status.FAILED).count(),
                )
            )
    return rows
