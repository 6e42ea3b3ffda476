"""The finance gauges of /metrics, from the analytics facts: MRR per currency and this month's MRR
movements per currency and kind. Beat refreshes them every minute (analytics.tasks) into Redis, so a
scrape costs no query (billing_project/business_metrics.py). Labels are bounded: currency and kind,
never a tenant."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db.models import Sum

from analytics.models import MRR_KINDS, MrrMovement, SubscriptionFact
from billing_project.business_metrics import business_gauges_store
from billing_project.money import to_major

MRR = "billing_mrr_dollars"
MOVEMENTS = "billing_mrr_movements_dollars"


def analytics_metrics_compute(*, today: date | None = None) -> dict:
    """MRR per currency (the facts' current MRR) and the movements of the current month, in major
    units; every kind is reported (0 when none) for each currency seen."""
    month = (today or date.today()).replace(day=1)
    mrr = {
        (row["currency"],): Decimal(to_major(row["total"] or 0, row["currency"]))
        for row in SubscriptionFact.objects.exclude(currency="")
        .values("currency")
        .annotate(total=Sum("mrr"))
        .order_by()
    }
    movements = {(currency, str(kind)): Decimal(0) for (currency,) in mrr for kind in MRR_KINDS}
    for row in (
        MrrMovement.objects.filter(month=month, kind__in=MRR_KINDS)
        .values("currency", "kind")
        .annotate(total=Sum("delta"))
        .order_by()
    ):
        movements[(row["currency"], row["kind"])] = Decimal(to_major(row["total"], row["currency"]))
    return {MRR: mrr, MOVEMENTS: movements}


def analytics_metrics_refresh(*, today: date | None = None) -> dict:
    values = analytics_metrics_compute(today=today)
    business_gauges_store(values)
    return values
