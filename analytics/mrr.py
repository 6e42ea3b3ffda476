"""A subscription's monthly recurring revenue, from a Stripe Subscription object.

The rules (README, "Finance analytics"):
- Only `active` and `past_due` subscriptions pay (a trial pays nothing yet; past_due still owes its
  price while dunning may recover it); anything else is 0.
- The plan's licensed item: unit amount x quantity per month; a yearly price counts 1/12 per month.
- Recurring discounts reduce MRR while they last (`forever`; `repeating` until the discount ends);
  `once` discounts do not, nor do metered (usage) items, which are usage revenue (invoices).
- After a downgrade at period end the tenant keeps paying the old plan until then
  (BillingAccount.previous_plan): the contraction happens when the period ends.
- Rounding: per subscription, the exact monthly amount (e.g. 290.00 / 12 = 24.1666...) is rounded
  half up to the currency's minor unit (24.17) before anything is summed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from billing_project.timestamps import from_ts

PAYING_STATUSES = ("active", "past_due")
_MONTHS: dict[str, Decimal | int] = {
    "day": Decimal(12) / Decimal(365),
    "week": Decimal(12) / Decimal(52),
    "month": 1,
}


@dataclass(frozen=True)
class Snapshot:
    subscription_id: str
    status: str
    plan_code: str
    billing_cycle: str
    currency: str
    mrr: int  # minor units


def round_minor(value: Decimal) -> int:
    """The documented rounding rule: half up to the minor unit."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _interval_months(recurring: dict) -> Decimal:
    interval = recurring.get("interval") or "month"
    count = Decimal(int(recurring.get("interval_count") or 1))
    if interval == "year":
        return 12 * count
    return Decimal(_MONTHS.get(interval, 1)) * count


def _is_metered(item: dict) -> bool:
    price = item.get("price") or {}
    return isinstance(price, dict) and (price.get("recurring") or {}).get("usage_type") == "metered"


def _plan_price(plan, cycle: str) -> tuple[int, Decimal]:
    if cycle == "yearly":
        return plan.price_yearly, Decimal(12)
    return plan.price_monthly, Decimal(1)


def discounted(monthly: Decimal, coupons: list[dict], at: datetime) -> Decimal:
    """Apply the recurring coupons that still run at `at` ({percent_off, amount_off, duration, end})."""
    for coupon in coupons:
        if coupon["duration"] == "once":
            continue
        if coupon["duration"] == "repeating" and coupon.get("end") and at >= coupon["end"]:
            continue
        if coupon.get("percent_off"):
            monthly = monthly * (100 - Decimal(coupon["percent_off"])) / 100
        elif coupon.get("amount_off"):
            # An amount off applies to each invoice: per month it is spread like the price.
            monthly = max(Decimal(0), monthly - Decimal(coupon["amount_off"]) / coupon["months"])
    return monthly


def snapshot_of(
    subscription: dict | None,
    *,
    at: datetime,
    plans_by_price: dict,
    coupons: Sequence[dict] = (),
    previous_plan=None,
    previous_plan_until: datetime | None = None,
) -> Snapshot:
    """The MRR of one subscription at `at` (see the module docstring). `plans_by_price` maps a Stripe
    price id to (plan, cycle); `coupons` are the recurring discounts applied to the subscription."""
    if not subscription:
        return Snapshot("", "", "", "", "", 0)
    items = [i for i in (subscription.get("items") or {}).get("data", []) if not _is_metered(i)]
    item = items[0] if items else {}
    price = item.get("price") or {}
    price_id = price if isinstance(price, str) else price.get("id", "")
    plan, cycle = plans_by_price.get(price_id, (None, ""))
    currency = (subscription.get("currency") or price.get("currency") or "").lower()
    if plan is not None and not currency:
        currency = plan.currency
    months = _interval_months(price.get("recurring") or {}) if isinstance(price, dict) else 1
    if not cycle:
        cycle = "yearly" if months == 12 else "monthly"
    amount = int(price.get("unit_amount") or 0) if isinstance(price, dict) else 0
    quantity = int(item.get("quantity") or 1)
    if previous_plan is not None and previous_plan_until and at < previous_plan_until:
        # Downgraded at period end: Stripe already carries the new price, the old one is still paid.
        amount, months = _plan_price(previous_plan, cycle)
        quantity, plan = 1, previous_plan
    status = subscription.get("status") or ""
    mrr = 0
    if status in PAYING_STATUSES and amount:
        monthly = Decimal(amount * quantity) / months
        coupons = [{**c, "months": months} for c in coupons]
        mrr = round_minor(discounted(monthly, coupons, at))
    plan_code = (
        plan.code if plan is not None else (subscription.get("metadata") or {}).get("plan_id", "")
    )
    return Snapshot(subscription.get("id", ""), status, plan_code or "", cycle, currency, mrr)


def coupon_terms(coupon, *, start: datetime | None) -> dict:
    """A coupons.Coupon as `discounted` reads it; a repeating one ends `duration_in_months` after
    `start` (the discount's start: the subscription's, or when the code was applied)."""
    end = None
    if coupon.duration == "repeating" and start is not None and coupon.duration_in_months:
        month = start.month - 1 + coupon.duration_in_months
        year, month = start.year + month // 12, month % 12 + 1
        day = min(start.day, 28)
        end = start.replace(year=year, month=month, day=day)
    return {
        "duration": coupon.duration,
        "percent_off": coupon.percent_off,
        "amount_off": coupon.amount_off,
        "end": end,
    }


def subscription_start(subscription: dict) -> datetime | None:
    return from_ts(subscription.get("start_date") or subscription.get("created"))
