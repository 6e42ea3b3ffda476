"""Metered billing: each tenant's billable usage goes to Stripe as meter events.

Only the difference between the billable total and what Stripe already has is sent, with an
identifier made of the tenant, resource, period and the total it brings Stripe to. A retry, a
re-run, or a run after a crash between Stripe's answer and our save sends the same identifier,
which Stripe refuses as a duplicate (recorded as pushed): usage is never billed twice.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.utils import timezone

from billing_project.stripe_gateway import meters as stripe_meters
from usage.counters import plain_decimal
from usage.models import Aggregation, MeterPush, UsageRollup
from usage.schema import in_schema
from usage.selectors import meters_get, rollup_billable

if TYPE_CHECKING:
    from tenants.models import Tenant

logger = logging.getLogger(__name__)

# Periods that ended less than this long ago still get their last pushes (then their invoice is cut).
CLOSED_PERIOD_GRACE = timedelta(days=1)


def _customer(tenant: Tenant) -> tuple[str | None, datetime | None]:
    """The tenant's Stripe customer and its test clock's time (None in real time)."""
    try:
        from subscriptions.selectors import billing_account_get
    except ImportError:
        return None, None
    account = billing_account_get(tenant=tenant)
    if account is None or not account.stripe_customer_id:
        return None, None
    return account.stripe_customer_id, getattr(account, "clock_time", None)


def usage_meter_push(*, tenant: Tenant, now: datetime | None = None) -> list[MeterPush]:
    """Send the unsent billable usage of every Stripe-metered (sum) resource of `tenant` for the
    current and just-closed periods. Returns the push records touched; failures are kept on them
    (`last_error`, `failures`) for admin and retried on the next run."""
    customer_id, clock_time = _customer(tenant)
    if customer_id is None:
        return []
    now = now or timezone.now()
    touched = []
    with in_schema(tenant):
        meters = {
            code: m
            for code, m in meters_get(tenant=tenant).items()
            if m.stripe_event_name and m.aggregation == Aggregation.SUM
        }
        rollups = UsageRollup.objects.filter(
            resource_type__in=meters, period_end__gt=now - CLOSED_PERIOD_GRACE
        )
        for rollup in rollups.order_by("period_start", "resource_type"):
            push, _ = MeterPush.objects.get_or_create(
                resource_type=rollup.resource_type, period_start=rollup.period_start
            )
            billable = rollup_billable(rollup)
            if billable <= push.pushed_quantity:
                continue
            meter = meters[rollup.resource_type]
            identifier = (
                f"{tenant.tenant_id}:{rollup.resource_type}:{rollup.period_start:%Y%m%dT%H%M%S}:"
                f"{plain_decimal(billable)}"
            )
            # The event must fall inside the period it bills (a test clock has its own "now").
            at = min(
                max(clock_time or now, rollup.period_start),
                rollup.period_end - timedelta(seconds=1),
            )
            try:
                stripe_meters.meter_ensure(
                    event_name=meter.stripe_event_name, display_name=meter.display_name
                )
                stripe_meters.meter_event_send(
                    event_name=meter.stripe_event_name,
                    customer_id=customer_id,
                    value=billable - push.pushed_quantity,
                    identifier=identifier,
                    timestamp=at,
                )
            except stripe_meters.DuplicateMeterEvent:
                logger.info("meter event %s was already pushed", identifier)
            except stripe_meters.MeterPushError as exc:
                push.failures += 1
                push.last_error = str(exc)[:2000]
                push.save(update_fields=["failures", "last_error", "updated"])
                touched.append(push)
                continue
            push.pushed_quantity, push.last_identifier, push.last_pushed_at = (
                billable,
                identifier,
                now,
            )
            push.failures, push.last_error = 0, ""
            push.save()
            touched.append(push)
    return touched
