"""One Stripe customer per tenant, optionally on its own test clock (created here; moved through
time by subscriptions.services.clocks)."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction

from billing_project.stripe_gateway import clocks as stripe_clocks
from billing_project.stripe_gateway import customers as stripe_customers
from billing_project.stripe_gateway.client import stripe_configured
from billing_project.timestamps import from_ts
from subscriptions.models import BillingAccount
from subscriptions.services.common import mirror
from tenants.services import audit_record

if TYPE_CHECKING:
    from tenants.models import Tenant

logger = logging.getLogger(__name__)


def customer_ensure(*, tenant: Tenant) -> BillingAccount:
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
            clock = stripe_clocks.test_clock_create(
                name=f"tenant {tenant.slug}", key=f"clock-create:{tenant.id}:{frozen}"
            )
            clock_id, account.clock_time = clock.id, from_ts(clock.frozen_time)
        customer = stripe_customers.customer_create(
            tenant=tenant,
            test_clock=clock_id or None,
            key=f"customer-create:{tenant.id}:{clock_id}",
        )
        account.stripe_customer_id, account.test_clock_id = customer.id, clock_id
        account.save()
        audit_record(
            actor="system",
            action="stripe.customer.create",
            tenant=tenant,
            target=customer.id,
            after={"customer": customer.id, "test_clock": clock_id or None},
        )
        mirror("Customer", customer, tenant=tenant)
    return account


def customer_create_on_provision(tenant: Tenant) -> None:
    """TENANT_CREATED_HOOKS entry: runs after the tenant's commit. A Stripe outage must not undo a
    provisioning that already happened: the failure is logged and `stripe_backfill_customers` heals it."""
    if not stripe_configured():
        return
    try:
        customer_ensure(tenant=tenant)
    except Exception:
        logger.exception(
            "Stripe customer for tenant %s not created; run manage.py stripe_backfill_customers",
            tenant.slug,
        )
