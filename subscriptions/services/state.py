"""The tenant's subscription state (BillingAccount) as read from a Stripe Subscription object.

Every writer (services after their own Stripe call, webhook handlers after re-fetching) goes
through `account_apply_subscription`, so the state is the same whoever saw the change first.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import QuerySet

from billing_project.stripe_gateway.data import StripeData
from billing_project.timestamps import from_ts
from subscriptions.models import LIVE_STATUSES, BillingAccount
from subscriptions.services.catalog import plan_for_price
from tenants.cache import key_changed
from tenants.selectors import billing_status_key
from usage.limits import limits_key


def account_cache_drop(*schema_names: str) -> None:
    """Every process drops these tenants' cached billing status and limits once the change of their
    billing accounts is committed (a save does it through subscriptions.signals)."""
    key_changed(*(key for s in schema_names for key in (billing_status_key(s), limits_key(s))))


def account_clock_time_record(accounts: QuerySet[BillingAccount], at: datetime | None) -> int:
    """Record a Stripe test clock's time on these billing accounts; how many were. The tenant's
    'now' follows it, and with it its billing status and limits (a grace period ends with the
    clock): an update sends no post_save, so their cached entries are dropped here."""
    schemas = list(accounts.values_list("tenant__schema_name", flat=True))
    updated = accounts.update(clock_time=at)
    if updated:
        account_cache_drop(*schemas)
    return updated


def _latest_invoice_created(subscription: StripeData) -> datetime | None:
    invoice = subscription.get("latest_invoice")
    if invoice is not None and not isinstance(invoice, str):
        return from_ts(invoice.get("created"))
    return None


def is_metered(item: StripeData) -> bool:
    price = item.get("price") or {}
    return (
        not isinstance(price, str) and (price.get("recurring") or {}).get("usage_type") == "metered"
    )


def licensed_item(subscription: StripeData) -> StripeData:
    """The plan's (licensed) item: the one that says which plan and cycle the subscription is on."""
    items = subscription["items"]["data"]
    return next((item for item in items if not is_metered(item)), items[0])


def metered_items(subscription: StripeData) -> list[Any]:
    """The overage's metered item(s): no quantity, billed in arrears from the meter."""
    return [item for item in subscription["items"]["data"] if is_metered(item)]


def account_apply_subscription(
    *, account: BillingAccount, subscription: StripeData
) -> BillingAccount:
    """Copy a (freshly fetched) Stripe subscription onto the account and save it.

    A canceled subscription only clears the account when it is the account's current one: a late
    event about an older subscription must not erase a newer one.
    """
    status = subscription["status"]
    if (
        account.subscription_id
        and account.subscription_id != subscription["id"]
        and status not in LIVE_STATUSES
    ):
        return account
    item = licensed_item(subscription)
    plan, cycle = plan_for_price(item["price"]["id"])
    was_past_due = account.status == "past_due" and account.subscription_id == subscription["id"]
    account.subscription_id = subscription["id"]
    account.status = status
    account.plan = plan
    account.billing_cycle = cycle
    account.cancel_at_period_end = bool(subscription.get("cancel_at_period_end"))
    account.trial_end = from_ts(subscription.get("trial_end"))
    account.current_period_start = from_ts(item.get("current_period_start"))
    account.current_period_end = from_ts(item.get("current_period_end"))
    latest = subscription.get("latest_invoice")
    account.latest_invoice_id = (
        latest if isinstance(latest, str) else (latest or {}).get("id")
    ) or ""
    if status == "past_due":
        if not (was_past_due and account.past_due_since):
            # The grace period counts from the failed invoice (in the customer's clock time).
            account.past_due_since = (
                _latest_invoice_created(subscription) or account.current_period_start
            )
    else:
        account.past_due_since = None
    if status not in LIVE_STATUSES:
        account.previous_plan, account.previous_plan_until = None, None
    # Its save drops the tenant's cached limits and billing status in every process once committed
    # (subscriptions.signals).
    account.save()
    return account
