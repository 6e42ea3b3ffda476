"""Reads of the plan catalog, the tenants' billing accounts and entitlements, and the tenant's clock.

The public plan list is served from Redis (shared cache), or from the database when Redis does not
answer: the catalog is a copy, and pricing pages must keep working. A tenant's subscription state
is its BillingAccount (written only by subscriptions.services.state), never dj-stripe's mirror."""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import redis
from django.conf import settings
from django.core.cache import caches
from django.db import connection
from django.utils import timezone

from subscriptions.models import BillingAccount, Plan
from tenants.cache import cached, epoch_bump

logger = logging.getLogger(__name__)

PLANS_CACHE_KEY = "plans:public:v1"
# The API's rendered answer for the same list (GET /api/v1/plans): bytes, dropped with the list.
PLANS_RENDERED_CACHE_KEY = "plans:public:rendered:v1"
PLANS_CACHE_SECONDS = 300


def _plans_public() -> list[Plan]:
    return list(
        Plan.objects.filter(is_public=True, is_active=True).order_by("price_monthly", "code")
    )


def plan_list_public() -> list[Plan]:
    """Public, active plans ordered by monthly price (cached; invalidated when a plan changes)."""
    cache = caches["shared"]
    try:
        plans = cache.get(PLANS_CACHE_KEY)
    except redis.RedisError as exc:
        logger.warning("plan catalog not read from Redis (%s); reading the database", exc)
        return _plans_public()
    if plans is None:
        plans = _plans_public()
        try:
            cache.set(PLANS_CACHE_KEY, plans, PLANS_CACHE_SECONDS)
        except redis.RedisError as exc:
            logger.warning("plan catalog not stored in Redis (%s)", exc)
    return plans


def plan_list_public_rendered(*, render: Callable[[list[Plan]], bytes]) -> bytes:
    """`render(plan_list_public())`, cached as bytes beside the list and dropped with it: the public
    catalog is the API's most read answer, and serializing its plans cost more than the rest of the
    request (issue 21). Read from the database and rendered again when Redis does not answer.

    Each process also keeps the bytes (tenants.cache, whose change channel plan_catalog_invalidate
    publishes on): a request then makes no round trip at all for them."""
    return cached("plans:public:rendered", lambda: _plan_list_public_rendered(render))


def _plan_list_public_rendered(render: Callable[[list[Plan]], bytes]) -> bytes:
    cache = caches["shared"]
    try:
        rendered = cache.get(PLANS_RENDERED_CACHE_KEY)
    except redis.RedisError as exc:
        logger.warning("plan catalog not read from Redis (%s); reading the database", exc)
        return render(_plans_public())
    if rendered is None:
        rendered = render(plan_list_public())
        try:
            cache.set(PLANS_RENDERED_CACHE_KEY, rendered, PLANS_CACHE_SECONDS)
        except redis.RedisError as exc:
            logger.warning("rendered plan catalog not stored in Redis (%s)", exc)
    return rendered


def plan_get(*, plan_id: str) -> Plan | None:
    return Plan.objects.filter(code=plan_id).first()


def plan_get_public(*, plan_id: str) -> Plan | None:
    """One plan of the public catalog (GET /api/v1/plans/<plan_id>), read from the same cached list,
    so a change shows in the list and the detail at once; hidden and retired plans are not found."""
    return next((plan for plan in plan_list_public() if plan.code == plan_id), None)


def plan_catalog_invalidate() -> None:
    try:
        caches["shared"].delete_many([PLANS_CACHE_KEY, PLANS_RENDERED_CACHE_KEY])
    except redis.RedisError as exc:
        # Saving the plan (the admin's request) must not fail for it; an old copy that survived in
        # Redis expires within PLANS_CACHE_SECONDS.
        logger.warning("plan catalog copy not dropped from Redis (%s)", exc)
    # Every process drops its copy of the rendered list (plan_list_public_rendered) at its next
    # request; after the Redis copies, so that none re-reads the old one (callers run this after
    # the plan's commit).
    epoch_bump()


# --- subscriptions and entitlements ---------------------------------------------------------------


@dataclass(frozen=True)
class Entitlements:
    """What a tenant may use now: the effective plan and its limits (resource -> int, None = unlimited)."""

    plan: Plan
    limits: dict
    status: str  # the subscription's Stripe status, or "none"
    reason: str  # "subscription", "grace_period", "paid_until_period_end", "free"
    grace_until: datetime | None = None


def billing_account_get(*, tenant) -> BillingAccount | None:
    return (
        BillingAccount.objects.select_related("plan", "previous_plan").filter(tenant=tenant).first()
    )


def subscription_get_current(*, tenant) -> BillingAccount | None:
    """The tenant's live subscription state (trialing, active, past_due, unpaid, incomplete), or None."""
    account = billing_account_get(tenant=tenant)
    return account if account is not None and account.is_live else None


# The catalog's currency for a tenant whose billing country has no plans of its own.
DEFAULT_CURRENCY = "usd"


def plan_currencies() -> set[str]:
    """The currencies the public catalog has plans in."""
    return {plan.currency for plan in plan_list_public()}


def billing_currency_get(*, tenant) -> str:
    """The currency the tenant is billed in, which picks the plans it is offered (portal) and the
    payment methods that can pay it (SEPA Direct Debit: EUR only).

    The rule: a live subscription's currency (Stripe cannot mix currencies on one subscription);
    else the currency of the country of the tenant's billing address (billing details), by CLDR's
    territory data (Babel), when the public catalog has plans in it; else USD."""
    account = subscription_get_current(tenant=tenant)
    if account is not None and account.plan is not None:
        return account.plan.currency
    from babel.numbers import get_territory_currencies

    from billing_details.selectors import billing_details_row

    row = billing_details_row(tenant=tenant)
    offered = plan_currencies()
    if row is not None and row.country:
        for currency in get_territory_currencies(row.country.upper()):
            if currency.lower() in offered:
                return currency.lower()
    return DEFAULT_CURRENCY


def plan_list_for_tenant(*, tenant) -> list[Plan]:
    """The public plans offered to the tenant: those priced in its billing currency."""
    currency = billing_currency_get(tenant=tenant)
    return [plan for plan in plan_list_public() if plan.currency == currency]


def subscription_is_past_due(*, tenant) -> bool:
    """Whether the tenant's live subscription is past_due or unpaid: subscription_get_current's
    answer for that one question, in one small query (GET /api/v1/tenants/current asks it on every
    call; loading the account with its two plans cost most of that request, issue 21)."""
    # Plain SQL: compiling the ORM's EXISTS cost more than running it.
    with connection.cursor() as cursor:
        cursor.execute(PAST_DUE_SQL, [tenant.pk])
        return cursor.fetchone() is not None


# tenants.selectors.tenant_billing_status runs it with invoicing's OVERDUE_INVOICE_SQL in one statement.
PAST_DUE_SQL = (
    f"SELECT 1 FROM {BillingAccount._meta.db_table} WHERE "
    f"{BillingAccount._meta.get_field('tenant').column} = %s "
    "AND status IN ('past_due', 'unpaid') AND subscription_id <> '' LIMIT 1"
)


def tenant_now(tenant=None, *, account: BillingAccount | None = None) -> datetime:
    """The tenant's 'now': its Stripe test clock's frozen time when it lives on one, else the real
    time. Give the tenant, or its billing account when the caller holds it (no extra query)."""
    if account is None and tenant is not None:
        account = billing_account_get(tenant=tenant)
    if account is not None and account.test_clock_id and account.clock_time:
        return account.clock_time
    return timezone.now()


def free_plan() -> Plan:
    plan = Plan.objects.filter(code=settings.SUBSCRIPTION_FREE_PLAN).first()
    return (
        plan
        if plan is not None
        else Plan(
            code=settings.SUBSCRIPTION_FREE_PLAN,
            name="Free",
            price_monthly=0,
            price_yearly=0,
            limits={},
        )
    )


def plan_paid_for(account: BillingAccount) -> Plan | None:
    """The plan the current period was paid for: after a downgrade at period end, the previous
    (bigger) plan until then -- its entitlements, and its overage price, still apply."""
    if (
        account.previous_plan is not None
        and account.previous_plan_until
        and tenant_now(account=account) < account.previous_plan_until
    ):
        return account.previous_plan
    return account.plan


def entitlements_get(*, tenant) -> Entitlements:
    """Effective plan and limits: active/trialing -> the plan (the previous, bigger plan until the
    period end after a downgrade); past_due -> the plan for SUBSCRIPTION_GRACE_DAYS after the failed
    invoice; incomplete, unpaid, canceled or none -> the free plan."""
    account = billing_account_get(tenant=tenant)
    status = account.status if account is not None and account.subscription_id else "none"
    plan, reason, grace_until = None, "free", None
    if account is not None and account.plan is not None:
        now = tenant_now(account=account)
        if status in ("active", "trialing"):
            plan = plan_paid_for(account)
            reason = "subscription" if plan is account.plan else "paid_until_period_end"
        elif status == "past_due" and account.past_due_since:
            grace_until = account.past_due_since + timedelta(days=settings.SUBSCRIPTION_GRACE_DAYS)
            if now < grace_until:
                plan, reason = account.plan, "grace_period"
    if plan is None:
        plan = free_plan()
    return Entitlements(
        plan=plan,
        limits=dict(plan.limits or {}),
        status=status,
        reason=reason,
        grace_until=grace_until,
    )
