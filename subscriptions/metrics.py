"""The subscription gauges of /metrics: billing_subscriptions_total{status,plan_id} and
billing_monthly_revenue_dollars{currency}.

Beat refreshes them every minute from the public schema (subscriptions.tasks) and stores the snapshot
in Redis, so a scrape costs no query (billing_project/business_metrics.py).
"""

from __future__ import annotations

from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count

from billing_project.business_metrics import business_gauges_store
from billing_project.money import to_major
from subscriptions.models import BillingAccount, BillingCycle, Plan

SUBSCRIPTIONS = "billing_subscriptions_total"
MRR = "billing_monthly_revenue_dollars"
# Paying subscriptions: a trial pays nothing yet; past_due still owes its price (dunning may recover it).
MRR_STATUSES = ("active", "past_due")
NO_PLAN = "none"  # a subscription on a price the catalog does not know


def subscription_metrics_compute() -> dict[str, dict[tuple[str, ...], Decimal | int]]:
    """Subscriptions by Stripe status and plan code, and MRR per currency in major units (monthly price,
    or yearly price / 12, of every active or past_due subscription). Every currency of the catalog is
    reported, at 0 when nothing pays in it, so the MRR series exists from the first refresh."""
    rows = (
        BillingAccount.objects.exclude(subscription_id="")
        .exclude(status="")
        .values(
            "status",
            "billing_cycle",
            "plan__code",
            "plan__currency",
            "plan__price_monthly",
            "plan__price_yearly",
        )
        .annotate(n=Count("id"))
        .order_by()
    )
    subscriptions: dict[tuple[str, ...], int] = defaultdict(int)
    mrr_minor: dict[str, Decimal] = {
        currency: Decimal(0)
        for currency in Plan.objects.values_list("currency", flat=True).distinct()
    }
    for row in rows:
        subscriptions[(row["status"], row["plan__code"] or NO_PLAN)] += row["n"]
        if row["status"] in MRR_STATUSES and row["plan__code"]:
            monthly = (
                Decimal(row["plan__price_yearly"]) / 12
                if row["billing_cycle"] == BillingCycle.YEARLY
                else Decimal(row["plan__price_monthly"])
            )
            currency = row["plan__currency"]
            mrr_minor[currency] = mrr_minor.get(currency, Decimal(0)) + monthly * row["n"]
    # Rounded half-up to the minor unit once, on the sum (yearly / 12 has fractions of a cent).
    mrr: dict[tuple[str, ...], Decimal | int] = {
        (currency,): Decimal(
            to_major(int(amount.quantize(Decimal(1), rounding=ROUND_HALF_UP)), currency)
        )
        for currency, amount in mrr_minor.items()
    }
    return {SUBSCRIPTIONS: dict(subscriptions), MRR: mrr}


def subscription_metrics_refresh() -> dict[str, dict[tuple[str, ...], Decimal | int]]:
    """Compute the subscription gauges and store them for /metrics; returns what was stored."""
    values = subscription_metrics_compute()
    business_gauges_store(values)
    return values
