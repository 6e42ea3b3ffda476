"""One Stripe customer per tenant, optionally on its own test clock."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction

from billing_project.api.exceptions import InvalidRequest
from billing_project.stripe_client import stripe_configured
from subscriptions import gateway
from subscriptions.models import BillingAccount
from subscriptions.services.common import from_ts, mirror
from tenants.services import audit_record

logger = logging.getLogger(__name__)


def customer_ensure(*, tenant) -> BillingAccount:
    """The tenant's billing account with its Stripe customer, created on first use.

    The customer carries metadata tenant_id/tenant_slug; with STRIPE_TEST_CLOCKS it is created on a
    test clock of its own so that one tenant can be moved through time.
    """
    account, _ = BillingAccount.objects.get_or_create(tenant=tenant)
    if account.stripe_customer_id:
        return account
    with transaction.atomic():
        # The row lock makes two concurrent first uses create one customer, not two.
        account = BillingAccount.objects.select_for_update().get(pk=account.pk)
        if account.stripe_customer_id:
            return account
        clock_id = ""
        if settings.STRIPE_TEST_CLOCKS:
            frozen = int(time.time())
            clock = gateway.test_clock_create(name=f"tenant {tenant.slug}", key=f"clock-create:{tenant.id}:{frozen}")
            clock_id, account.clock_time = clock.id, from_ts(clock.frozen_time)
        customer = gateway.customer_create(tenant=tenant, test_clock=clock_id or None,
                                           key=f"customer-create:{tenant.id}:{clock_id}")
        account.stripe_customer_id, account.test_clock_id = customer.id, clock_id
        account.save()
        audit_record(actor="system", action="stripe.customer.create", tenant=tenant, target=customer.id,
                     after={"customer": customer.id, "test_clock": clock_id or None})
        mirror("Customer", customer, tenant=tenant)
    return account


def customer_create_on_provision(tenant) -> None:
    """TENANT_CREATED_HOOKS entry: runs after the tenant's commit. A Stripe outage must not undo a
    provisioning that already happened: the failure is logged and `stripe_backfill_customers` heals it."""
    if not stripe_configured():
        return
    try:
        customer_ensure(tenant=tenant)
    except Exception:
        logger.exception("Stripe customer for tenant %s not created; run manage.py stripe_backfill_customers",
                         tenant.slug)


def test_clock_advance(*, tenant, days: int = 0, seconds: int = 0, actor: str = "system",
                       timeout: float = 120.0) -> BillingAccount:
    """Move the tenant's test clock forward and wait until Stripe says it is `ready`, which Stripe
    reports only after the advance's work (and, with the emulator, the first webhook delivery of
    every event it produced) is done. Then the tenant's state is pulled from Stripe as well: real
    Stripe may deliver the webhooks after `ready`, and the caller (command, admin) reports the
    subscription's state at once."""
    from subscriptions.services.webhooks import tenant_resync

    account = customer_ensure(tenant=tenant)
    if not account.test_clock_id:
        raise InvalidRequest("This tenant's Stripe customer has no test clock (STRIPE_TEST_CLOCKS is off).",
                             code="no_test_clock")
    clock = gateway.test_clock_retrieve(account.test_clock_id)
    target = int(clock.frozen_time) + int(timedelta(days=days, seconds=seconds).total_seconds())
    if target <= clock.frozen_time:
        raise InvalidRequest("Advance by a positive amount of time.")
    gateway.test_clock_advance(clock_id=account.test_clock_id, frozen_time=target,
                               key=f"clock-advance:{account.test_clock_id}:{target}")
    deadline = time.monotonic() + timeout
    while True:
        clock = gateway.test_clock_retrieve(account.test_clock_id)
        if clock.status == "ready":
            break
        if clock.status == "internal_failure" or time.monotonic() > deadline:
            raise InvalidRequest(f"The test clock did not become ready (status {clock.status}).",
                                 code="test_clock_failed")
        time.sleep(0.05)
    before = account.clock_time
    tenant_resync(tenant=tenant)
    account.refresh_from_db()
    account.clock_time = from_ts(clock.frozen_time)
    account.save(update_fields=["clock_time", "updated"])
    from subscriptions.services.subscriptions import subscription_metered_item_sync

    # After a renewal that ended a deferred downgrade, the overage item follows the new plan.
    subscription_metered_item_sync(tenant=tenant, actor=actor)
    audit_record(actor=actor, action="stripe.test_clock.advance", tenant=tenant, target=account.test_clock_id,
                 before={"frozen_time": before.isoformat() if before else None},
                 after={"frozen_time": account.clock_time.isoformat()})
    return account
