"""Move a tenant through time on its Stripe test clock (STRIPE_TEST_CLOCKS), then pull the state
Stripe reached. Layer: above customers, subscriptions and sync, below webhooks."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import TYPE_CHECKING

from billing_project.errors import InvalidRequest
from billing_project.stripe_gateway import clocks as stripe_clocks
from billing_project.timestamps import from_ts
from subscriptions.models import BillingAccount
from subscriptions.services.customers import customer_ensure
from subscriptions.services.subscriptions import subscription_metered_item_sync
from subscriptions.services.sync import tenant_resync
from tenants.services import audit_record

if TYPE_CHECKING:
    from tenants.models import Tenant


def test_clock_advance(
    *,
    tenant: Tenant,
    days: int = 0,
    seconds: int = 0,
    actor: str = "system",
    timeout: float = 120.0,
) -> BillingAccount:
    """Move the tenant's test clock forward and wait until Stripe says it is `ready`, which Stripe
    reports only after the advance's work (and, with the emulator, the first webhook delivery of
    every event it produced) is done. Then the tenant's state is pulled from Stripe as well: real
    Stripe may deliver the webhooks after `ready`, and the caller (command, admin) reports the
    subscription's state at once."""
    account = customer_ensure(tenant=tenant)
    if not account.test_clock_id:
        raise InvalidRequest(
            "This tenant's Stripe customer has no test clock (STRIPE_TEST_CLOCKS is off).",
            code="no_test_clock",
        )
    clock = stripe_clocks.test_clock_retrieve(account.test_clock_id)
    target = int(clock.frozen_time) + int(timedelta(days=days, seconds=seconds).total_seconds())
    if target <= clock.frozen_time:
        raise InvalidRequest("Advance by a positive amount of time.")
    stripe_clocks.test_clock_advance(
        clock_id=account.test_clock_id,
        frozen_time=target,
        key=f"clock-advance:{account.test_clock_id}:{target}",
    )
    deadline = time.monotonic() + timeout
    while True:
        clock = stripe_clocks.test_clock_retrieve(account.test_clock_id)
        if clock.status == "ready":
            break
        if clock.status == "internal_failure" or time.monotonic() > deadline:
            raise InvalidRequest(
                f"The test clock did not become ready (status {clock.status}).",
                code="test_clock_failed",
            )
        time.sleep(0.05)
    before = account.clock_time
    tenant_resync(tenant=tenant)
    account.refresh_from_db()
    account.clock_time = from_ts(clock.frozen_time)
    account.save(update_fields=["clock_time", "updated"])
    # After a renewal that ended a deferred downgrade, the overage item follows the new plan.
    subscription_metered_item_sync(tenant=tenant, actor=actor)
    audit_record(
        actor=actor,
        action="stripe.test_clock.advance",
        tenant=tenant,
        target=account.test_clock_id,
        before={"frozen_time": before.isoformat() if before else None},
        after={"frozen_time": account.clock_time.isoformat() if account.clock_time else None},
    )
    return account
