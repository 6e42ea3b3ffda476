"""Reads of the finance facts: monthly series per currency (never summed across currencies), the
receivables ageing and the drill-downs. Each figure is a few indexed aggregate queries over the
small fact tables (analytics.models), whatever the number of tenants' schemas.

Definitions (README, "Finance analytics"), per currency and month M:
- MRR at the end of M: the sum of every movement's delta up to the end of M; ARR = 12 x MRR.
- movements in M: new, expansion, contraction, churn, reactivation (sums of deltas, and counts).
- paying accounts: new + reactivations - churned, cumulated; ARPA = MRR / paying accounts.
- logo churn rate = accounts churned in M / paying accounts at the start of M.
- revenue churn rate = (churned + contraction MRR in M) / MRR at the start of M.
- gross revenue retention = (start MRR - churned - contraction) / start MRR; net revenue retention
  = (start MRR + expansion - contraction - churned) / start MRR.
- trial-to-paid conversion = trials that became paying in M / trials that ended in M.
- failed-payment recovery rate = invoices whose first payment failure was in M and that were paid
  later (dunning, a new card, pay now) / invoices whose first payment failure was in M.
- cash collected = amounts paid on invoices paid in M; refunds = amounts refunded in M; usage
  revenue = metered lines of the invoices finalized in M (reported apart from MRR).
Money is integer minor units; rates are Decimal percentages rounded half up to 2 places (None when
the denominator is 0); ARPA is rounded half up to the minor unit.
The figures are reports: they read on the read replica when one is configured (billing_project.replica).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import connections, router
from django.db.models import Count, F, Q, Sum
from django.db.models.functions import TruncMonth

from analytics.models import MRR_KINDS, InvoiceFact, MovementKind, MrrMovement, RefundFact
from analytics.mrr import PAYING_STATUSES
from billing_project.replica import reads_from_replica

KINDS = [str(k) for k in MRR_KINDS]
AGEING_BUCKETS = ("current", "1-30", "31-60", "61-90", "90+")
STATUS_COUNTED = ("active", "trialing", "past_due", "canceled")
MAX_MONTHS = 60


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def months_between(start: date, end: date) -> list[date]:
    months, current = [], month_start(start)
    while current <= end:
        months.append(current)
        current = next_month(current)
    return months


def percent(numerator: int, denominator: int) -> Decimal | None:
    if not denominator:
        return None
    return (Decimal(numerator) * 100 / Decimal(denominator)).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP
    )


@dataclass
class MonthFigures:
    month: date
    currency: str
    mrr_start: int = 0
    mrr: int = 0
    paying_start: int = 0
    paying: int = 0
    amounts: dict = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    counts: dict = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    trials_ended: int = 0
    trials_converted: int = 0
    failed_invoices: int = 0
    recovered_invoices: int = 0
    cash_collected: int = 0
    refunds: int = 0
    usage_revenue: int = 0
    statuses: dict = field(default_factory=lambda: dict.fromkeys(STATUS_COUNTED, 0))

    @property
    def arr(self) -> int:
        return self.mrr * 12

    @property
    def arpa(self) -> int | None:
        if not self.paying:
            return None
        return int((Decimal(self.mrr) / self.paying).quantize(Decimal(1), rounding=ROUND_HALF_UP))

    @property
    def net_movement(self) -> int:
        return sum(self.amounts.values())

    @property
    def churned_mrr(self) -> int:
        return -self.amounts["churn"]

    @property
    def contraction_mrr(self) -> int:
        return -self.amounts["contraction"]

    @property
    def logo_churn_rate(self) -> Decimal | None:
        return percent(self.counts["churn"], self.paying_start)

    @property
    def revenue_churn_rate(self) -> Decimal | None:
        return percent(self.churned_mrr + self.contraction_mrr, self.mrr_start)

    @property
    def gross_revenue_retention(self) -> Decimal | None:
        return percent(self.mrr_start - self.churned_mrr - self.contraction_mrr, self.mrr_start)

    @property
    def net_revenue_retention(self) -> Decimal | None:
        return percent(
            self.mrr_start + self.amounts["expansion"] - self.contraction_mrr - self.churned_mrr,
            self.mrr_start,
        )

    @property
    def trial_conversion_rate(self) -> Decimal | None:
        return percent(self.trials_converted, self.trials_ended)

    @property
    def recovery_rate(self) -> Decimal | None:
        return percent(self.recovered_invoices, self.failed_invoices)


def _currencies(currency: str | None, *found: set) -> list[str]:
    if currency:
        return [currency]
    return sorted(set().union(*found))


@reads_from_replica
def monthly_figures(*, start: date, end: date, currency: str | None = None) -> list[MonthFigures]:
    """Every figure of every month from start's month to end's, per currency (month, currency order)."""
    months = months_between(start, end)
    first, stop = months[0], next_month(months[-1])
    moves = MrrMovement.objects.filter(day__lt=stop)
    if currency:
        moves = moves.filter(currency=currency)
    rows = (
        moves.values("currency", "month", "kind")
        .annotate(
            amount=Sum("delta"),
            n=Count("id"),
            trials_ended=Count(
                "id", filter=Q(status_before="trialing") & ~Q(status_after="trialing")
            ),
            trials_converted=Count(
                "id", filter=Q(status_before="trialing", status_after__in=PAYING_STATUSES)
            ),
        )
        .order_by()
    )
    opening_mrr: defaultdict[str, int]
    opening_paying: defaultdict[str, int]
    opening_mrr, opening_paying = defaultdict(int), defaultdict(int)
    opening_status: defaultdict[str, defaultdict[str, int]] = defaultdict(lambda: defaultdict(int))
    status_moves = defaultdict(list)
    # The rows of the querysets' values() below (each a TypedDict of its own to the stubs).
    row: Any
    for row in (
        moves.exclude(status_before=F("status_after"))
        .values("currency", "month", "status_before", "status_after")
        .annotate(n=Count("id"))
        .order_by()
    ):
        if row["month"] < first:
            _status_add(opening_status[row["currency"]], row)
        else:
            status_moves[(row["currency"], row["month"])].append(row)
    in_range = defaultdict(list)
    for row in rows:
        paying = _paying_change(row["kind"], row["n"])
        if row["month"] < first:
            opening_mrr[row["currency"]] += row["amount"] or 0
            opening_paying[row["currency"]] += paying
        else:
            in_range[(row["currency"], row["month"])].append(row)
    invoices = InvoiceFact.objects.all()
    refunds = RefundFact.objects.filter(day__gte=first, day__lt=stop)
    if currency:
        invoices, refunds = invoices.filter(currency=currency), refunds.filter(currency=currency)
    cash = _by_month(
        invoices.filter(paid_on__gte=first, paid_on__lt=stop), "paid_on", "amount_paid"
    )
    usage = _by_month(
        invoices.filter(finalized_on__gte=first, finalized_on__lt=stop).exclude(status="void"),
        "finalized_on",
        "usage_amount",
    )
    failed = _failed_by_month(invoices.filter(first_failed_on__gte=first, first_failed_on__lt=stop))
    refunded = _by_month(refunds, "day", "amount")
    currencies = _currencies(
        currency,
        set(opening_mrr),
        {c for c, _ in in_range},
        {c for c, _ in cash},
        {c for c, _ in usage},
        {c for c, _ in failed},
        {c for c, _ in refunded},
        set(opening_status),
        {c for c, _ in status_moves},
    )
    result = []
    for cur in currencies:
        mrr, paying = opening_mrr[cur], opening_paying[cur]
        statuses = defaultdict(int, opening_status[cur])
        for month in months:
            for row in status_moves.get((cur, month), []):
                _status_add(statuses, row)
            figures = MonthFigures(month=month, currency=cur, mrr_start=mrr, paying_start=paying)
            for row in in_range.get((cur, month), []):
                mrr += row["amount"] or 0
                paying += _paying_change(row["kind"], row["n"])
                figures.trials_ended += row["trials_ended"]
                figures.trials_converted += row["trials_converted"]
                if row["kind"] in figures.amounts:
                    figures.amounts[row["kind"]] += row["amount"] or 0
                    figures.counts[row["kind"]] += row["n"]
            figures.mrr, figures.paying = mrr, paying
            figures.statuses = {
                **dict.fromkeys(STATUS_COUNTED, 0),
                **{k: v for k, v in statuses.items() if k and v},
            }
            figures.cash_collected = cash.get((cur, month), 0)
            figures.usage_revenue = usage.get((cur, month), 0)
            figures.refunds = refunded.get((cur, month), 0)
            figures.failed_invoices, figures.recovered_invoices = failed.get((cur, month), (0, 0))
            result.append(figures)
    return result


def _status_add(counts: dict, row: dict) -> None:
    counts[row["status_before"]] -= row["n"]
    counts[row["status_after"]] += row["n"]


def _paying_change(kind: str, n: int) -> int:
    if kind in (MovementKind.NEW, MovementKind.REACTIVATION):
        return n
    if kind == MovementKind.CHURN:
        return -n
    return 0


def _by_month(queryset, date_field: str, amount_field: str) -> dict:
    """{(currency, month): sum of amount_field}, grouped by the database."""
    rows = (
        queryset.annotate(m=TruncMonth(date_field))
        .values("currency", "m")
        .annotate(total=Sum(amount_field))
        .order_by()
    )
    return {(row["currency"], _as_date(row["m"])): row["total"] or 0 for row in rows}


def _failed_by_month(queryset) -> dict:
    """{(currency, month): (invoices whose first payment failed then, of them recovered)}."""
    rows = (
        queryset.annotate(m=TruncMonth("first_failed_on"))
        .values("currency", "m")
        .annotate(n=Count("id"), recovered=Count("id", filter=Q(recovered=True)))
        .order_by()
    )
    return {(row["currency"], _as_date(row["m"])): (row["n"], row["recovered"]) for row in rows}


def _as_date(value) -> date:
    return value.date() if hasattr(value, "date") and callable(value.date) else value


@reads_from_replica
def status_counts(*, as_of: date, currency: str | None = None) -> dict[str, dict[str, int]]:
    """Subscriptions by status at the end of `as_of`, per currency: each tenant's latest recorded
    status (active, trialing, past_due, canceled; the rest under their own names)."""
    sql = (
        "SELECT currency, status_after, count(*) FROM ("
        " SELECT DISTINCT ON (tenant_id) currency, status_after FROM analytics_mrrmovement"
        " WHERE day <= %s ORDER BY tenant_id, occurred_at DESC, id DESC"
        ") latest WHERE status_after <> '' {where} GROUP BY 1, 2"
    )
    params: list[Any] = [as_of]
    where = ""
    if currency:
        where, params = "AND currency = %s", [as_of, currency]
    # Raw SQL: the router's choice (the replica inside reads_from_replica, when configured) by hand.
    with connections[router.db_for_read(MrrMovement)].cursor() as cursor:
        cursor.execute(sql.format(where=where), params)
        rows = cursor.fetchall()
    counts: dict[str, dict[str, int]] = {}
    for cur, status, n in rows:
        counts.setdefault(cur, dict.fromkeys(STATUS_COUNTED, 0))[status] = n
    return counts


def ageing_bucket(days_overdue: int) -> str:
    if days_overdue <= 0:
        return "current"
    if days_overdue <= 30:
        return "1-30"
    if days_overdue <= 60:
        return "31-60"
    if days_overdue <= 90:
        return "61-90"
    return "90+"


def _bucket_range(bucket: str, as_of: date) -> Q:
    """The due dates of a bucket: `current` is not yet due, `1-30` 1 to 30 days past due..."""
    bounds = {"current": (None, 0), "1-30": (1, 30), "31-60": (31, 60), "61-90": (61, 90)}
    if bucket == "90+":
        return Q(due_on__lt=as_of - timedelta(days=90))
    low, high = bounds[bucket]
    q = Q(due_on__gte=as_of - timedelta(days=high))
    if low is not None:
        q &= Q(due_on__lte=as_of - timedelta(days=low))
    return q | Q(due_on__isnull=True) if bucket == "current" else q


@reads_from_replica
def receivables(*, as_of: date, currency: str | None = None) -> dict[str, dict[str, dict]]:
    """Accounts receivable: open invoices' remaining amounts by days past their due date at
    `as_of`, per currency: {currency: {bucket: {"amount", "count"}}}."""
    invoices = InvoiceFact.objects.filter(status="open", amount_remaining__gt=0)
    if currency:
        invoices = invoices.filter(currency=currency)
    result: dict[str, dict[str, dict]] = {}
    for bucket in AGEING_BUCKETS:
        for row in (
            invoices.filter(_bucket_range(bucket, as_of))
            .values("currency")
            .annotate(amount=Sum("amount_remaining"), n=Count("id"))
            .order_by()
        ):
            per = result.setdefault(
                row["currency"], {b: {"amount": 0, "count": 0} for b in AGEING_BUCKETS}
            )
            per[bucket] = {"amount": row["amount"], "count": row["n"]}
    return result


# --- drill-downs ------------------------------------------------------------------------------


def movement_list(*, month: date, currency: str, kind: str | None = None):
    """The movements (with their tenants) behind one month's figure, e.g. churned in March."""
    moves = MrrMovement.objects.select_related("tenant").filter(month=month, currency=currency)
    if kind:
        moves = moves.filter(kind=kind)
    else:
        moves = moves.exclude(kind=MovementKind.STATUS)
    return moves.order_by("occurred_at", "id")


def receivable_list(*, as_of: date, currency: str, bucket: str):
    """The open invoices behind one ageing bucket, e.g. overdue 31-60 days."""
    return (
        InvoiceFact.objects.select_related("tenant")
        .filter(status="open", amount_remaining__gt=0, currency=currency)
        .filter(_bucket_range(bucket, as_of))
        .order_by("due_on", "invoice_id")
    )


def currencies_known() -> list[str]:
    from subscriptions.models import Plan

    found = set(Plan.objects.values_list("currency", flat=True))
    # order_by(): the ledger's default ordering would make DISTINCT run over every row.
    found |= set(MrrMovement.objects.order_by().values_list("currency", flat=True).distinct())
    return sorted(found)
