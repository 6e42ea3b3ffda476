"""Spend budgets: reads, always for one tenant.

`spend_get` says what the tenant's current billing period costs so far and where it is heading,
from the selectors that already price it (no Stripe call, no scan of events):

- the period: the live monthly subscription's current period (its Stripe period, on the tenant's
  test clock when it has one); without one, the calendar month (UTC) of the tenant's clock;
- subscription charge: the price of the plan the period was paid for (`plan_paid_for`), nothing
  while trialing; yearly plans are billed once a year and are not counted in a monthly budget;
- usage charges so far: `usage.selectors.usage_overage_estimate`, the period's billable units
  above the allowance priced as the plan's graduated overage price bills them;
- spent = subscription charge + usage charges so far;
- projected = subscription charge + the usage charge of the linear forecast of the period's
  usage: billable units so far * period length / elapsed time, priced by the same overage price
  (units are forecast, not money: usage still under the allowance today may be over it at the
  period's end). Before any time has elapsed the forecast is the usage so far; after the period's
  end it is the usage itself.

Amounts are before discounts and prepaid credit (what the usage costs, not what the card pays),
in the currency the tenant is billed in; a budget in another currency counts nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import QuerySet

from billing_project.errors import BudgetExceeded
from budgets import cache
from budgets.models import Budget, BudgetAlert
from subscriptions.selectors import billing_account_get, plan_paid_for, tenant_now
from tenants.cache import cached
from usage.limits import billing_period
from usage.selectors import overage_charge, usage_overage_estimate


@dataclass(frozen=True)
class Spend:
    currency: str
    subscription: int  # minor units: the period's subscription charge
    usage: int  # minor units: usage charges so far
    usage_projected: int  # minor units: usage charges at the period's end at today's pace
    period_start: datetime
    period_end: datetime
    now: datetime  # the tenant's clock

    @property
    def spent(self) -> int:
        return self.subscription + self.usage

    @property
    def projected(self) -> int:
        return self.subscription + self.usage_projected


def budget_get(*, tenant) -> Budget | None:
    return Budget.objects.filter(tenant=tenant).first()


def usage_forecast(so_far: Decimal, *, start: datetime, end: datetime, now: datetime) -> Decimal:
    """The period's usage at its end if it goes on at the pace of the period so far:
    so_far * period length / elapsed (in microseconds: integers, no float)."""
    unit = timedelta(microseconds=1)
    length = (end - start) // unit
    elapsed = (min(now, end) - start) // unit
    if elapsed <= 0:
        return so_far
    return so_far * length / elapsed


def spend_get(*, tenant, currency: str | None = None) -> Spend:
    """The current billing period's spend of `tenant` (see the module's docstring), in `currency`
    (default: the currency it is billed in)."""
    account = billing_account_get(tenant=tenant)
    now = tenant_now(tenant, account=account)
    live = account is not None and account.is_live
    plan = plan_paid_for(account) if live and account is not None else None
    if (
        plan is not None
        and account is not None
        and account.billing_cycle == "monthly"
        and account.current_period_start
        and account.current_period_end
    ):
        start, end = account.current_period_start, account.current_period_end
        billed_in = plan.currency
        subscription = 0 if account.status == "trialing" else plan.price_monthly
        usage = projected = 0
        estimate = usage_overage_estimate(tenant=tenant)
        if estimate is not None:
            usage = estimate.amount
            forecast = usage_forecast(estimate.billable, start=start, end=end, now=now)
            projected = overage_charge(plan, forecast)[1]
    else:
        start, end = billing_period(now)
        billed_in = plan.currency if plan is not None else (currency or "usd")
        subscription = usage = projected = 0
    if currency and currency != billed_in:
        subscription = usage = projected = 0
    return Spend(
        currency=currency or billed_in,
        subscription=subscription,
        usage=usage,
        usage_projected=max(projected, usage),
        period_start=start,
        period_end=end,
        now=now,
    )


def billed_currency(*, tenant) -> str | None:
    """The currency of the tenant's plan when it has one (a budget is set in it), else None."""
    account = billing_account_get(tenant=tenant)
    if account is None or account.plan is None:
        return None
    return account.plan.currency


def alert_list(*, tenant, period_start: datetime) -> QuerySet[BudgetAlert]:
    """The thresholds reached in the period that starts at `period_start`, lowest first."""
    return BudgetAlert.objects.filter(tenant=tenant, period_start=period_start).order_by(
        "threshold"
    )


def budget_view(*, tenant) -> dict | None:
    """GET /api/v1/budget's object (minor units), or None without a budget."""
    budget = budget_get(tenant=tenant)
    if budget is None:
        return None
    spend = spend_get(tenant=tenant, currency=budget.currency)
    return {
        "budget": budget,
        "amount": budget.amount,
        "currency": budget.currency,
        "hard_cap": budget.hard_cap,
        "spent": spend.spent,
        "projected": spend.projected,
        "period_start": spend.period_start,
        "period_end": spend.period_end,
        "capped": budget_state_load(tenant=tenant) == cache.CAPPED,
        "alerts_sent": list(alert_list(tenant=tenant, period_start=spend.period_start)),
    }


def budget_state_load(*, tenant) -> str:
    """The budget's state from the database: NONE, OPEN, or CAPPED while its hard cap holds (the
    check found this period's spend at the amount, and the period has not ended on the tenant's
    clock). One indexed row; the billing account only when the cap was reached."""
    row = Budget.objects.filter(tenant=tenant).values_list("hard_cap", "capped_until").first()
    if row is None:
        return cache.NONE
    hard_cap, capped_until = row
    if hard_cap and capped_until is not None and capped_until > tenant_now(tenant):
        return cache.CAPPED
    return cache.OPEN


def budget_state(*, tenant) -> str:
    """The hot path's answer (usage ingest, entitlement checks): this process's copy, else the Redis
    copy, else the database (then copied). A Redis outage reads the database: never a 500, never a
    wrong "allowed".

    The process keeps "none" and "open" (tenants.cache) until a change of the budget or its check
    publishes the state's key (budgets.cache.state_cache_forget): the ingest then makes no round trip
    for it (issue 21). "capped" is not kept there: it ends with the period, which the Redis copy's
    own expiry bounds."""
    return cached(
        cache.state_key(tenant.schema_name),
        lambda: _budget_state_shared(tenant),
        keep=lambda state: state != cache.CAPPED,
    )


def _budget_state_shared(tenant) -> str:
    answered, state = cache.state_cached(tenant.schema_name)
    if state is None:
        state = budget_state_load(tenant=tenant)
        if answered:
            cache.state_cache_store(tenant.schema_name, state)
    return state


def budget_capped(*, tenant) -> bool:
    return budget_state(tenant=tenant) == cache.CAPPED


def budget_guard(*, tenant) -> None:
    """The hot path's gate (usage ingest, entitlement checks): 402 budget_exceeded while the
    tenant's hard cap holds."""
    if budget_capped(tenant=tenant):
        raise BudgetExceeded()
