"""Pull a tenant's state from Stripe: its customer, subscriptions and payment methods into the
BillingAccount and the dj-stripe mirror. Used by the webhook handlers (order-proof: whichever event
arrives last, the state is Stripe's current one), the test clock advance and `stripe_resync`.

Layer: above state (account_apply_subscription), below clocks and webhooks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from django.db import transaction

from billing_project.stripe_gateway import clocks as stripe_clocks
from billing_project.stripe_gateway import customers as stripe_customers
from billing_project.stripe_gateway import payment_methods as stripe_payment_methods
from billing_project.stripe_gateway import subscriptions as stripe_subscriptions
from billing_project.timestamps import from_ts
from subscriptions.models import LIVE_STATUSES, BillingAccount
from subscriptions.services.common import mirror
from subscriptions.services.state import account_apply_subscription, account_clock_time_record

if TYPE_CHECKING:
    from tenants.models import Tenant


def tenant_resync(
    *, tenant: Tenant, log: Callable[[str], object] = lambda _msg: None
) -> BillingAccount | None:
    """Pull the tenant's customer, subscriptions and payment methods from Stripe into the account
    and the dj-stripe mirror: the live subscription wins, else the newest one."""
    account = BillingAccount.objects.filter(tenant=tenant).exclude(stripe_customer_id="").first()
    if account is None:
        return None
    customer = stripe_customers.customer_retrieve(account.stripe_customer_id)
    mirror("Customer", customer, tenant=tenant)
    subscriptions = stripe_subscriptions.subscription_list(customer_id=account.stripe_customer_id)
    for pm in stripe_payment_methods.payment_method_list(customer_id=account.stripe_customer_id):
        mirror("PaymentMethod", pm)
    live = [s for s in subscriptions if s["status"] in LIVE_STATUSES]
    newest = sorted(subscriptions, key=lambda s: s["created"], reverse=True)
    chosen = (live or newest)[0] if (live or newest) else None
    for subscription in subscriptions:
        mirror("Subscription", subscription)
    if chosen is not None:
        with transaction.atomic():
            account = BillingAccount.objects.select_for_update(of=("self",)).get(pk=account.pk)
            if chosen["id"] != account.subscription_id and account.subscription_id and not live:
                account.subscription_id = ""  # the newest ended one replaces an older state
            account_apply_subscription(
                account=account,
                subscription=stripe_subscriptions.subscription_retrieve(chosen["id"]),
            )
    if account.test_clock_id:
        clock = stripe_clocks.test_clock_retrieve(account.test_clock_id)
        account_clock_time_record(
            BillingAccount.objects.filter(pk=account.pk), from_ts(clock.frozen_time)
        )
    log(
        f"{tenant.slug}: {len(subscriptions)} subscription(s), state {chosen['status'] if chosen else 'none'}"
    )
    return BillingAccount.objects.get(pk=account.pk)
