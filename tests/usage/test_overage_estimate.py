"""The next invoice's overage, estimated from the period's rollup as the plan's graduated price bills
it (the end-to-end invoice from the emulator is in tests/subscriptions/test_overage.py)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from subscriptions.models import BillingAccount, Plan
from tests.usage.conftest import event
from usage.selectors import usage_overage_estimate
from usage.services import usage_event_ingest

pytestmark = pytest.mark.django_db


@pytest.fixture
def on_plan(tenant):
    """on_plan(code, cycle="monthly", **fields): acme's account on that plan, as Stripe left it."""

    def put(code, cycle="monthly", **fields):
        start = datetime.now(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        BillingAccount.objects.update_or_create(
            tenant=tenant,
            defaults={
                "subscription_id": "sub_estimate",
                "status": "active",
                "plan": Plan.objects.get(code=code),
                "billing_cycle": cycle,
                "current_period_start": start,
                "current_period_end": start + timedelta(days=30),
                **fields,
            },
        )

    return put


def use(tenant, quantity, **fields):
    usage_event_ingest(tenant=tenant, data=event(quantity=str(quantity), **fields))


@pytest.mark.parametrize(
    "used, above, amount",
    [
        (9_000, 0, 0),
        (10_001, 1, 0),  # $0.002 rounds to nothing
        (10_003, 3, 1),  # $0.006 rounds half up to one cent
        (12_500, 2_500, 500),  # $2.00 per 1,000 above 10,000
    ],
)
def test_starter_bills_two_dollars_per_thousand_above_its_limit(
    tenant, on_plan, used, above, amount
):
    on_plan("starter")
    use(tenant, used)
    estimate = usage_overage_estimate(tenant=tenant)
    assert (estimate.resource_type, estimate.above, estimate.amount, estimate.currency) == (
        "api_calls",
        Decimal(above),
        amount,
        "usd",
    )


def test_late_usage_of_an_invoiced_period_is_billed_now(tenant, on_plan):
    on_plan("starter")
    use(tenant, 10_000)
    last_month = datetime.now(UTC).replace(day=1, hour=12) - timedelta(days=2)
    use(tenant, 1_000, period_start=last_month.isoformat(), period_end=last_month.isoformat())
    assert usage_overage_estimate(tenant=tenant).amount == 200


def test_a_deferred_downgrade_bills_this_period_with_the_old_plans_allowance(tenant, on_plan):
    on_plan(
        "starter",
        previous_plan=Plan.objects.get(code="professional"),
        previous_plan_until=datetime.now(UTC) + timedelta(days=3),
    )
    use(tenant, 12_500)
    assert usage_overage_estimate(tenant=tenant).above == 0


@pytest.mark.parametrize("setup", ["free", "enterprise", "yearly", "canceled", "none"])
def test_no_estimate_without_a_monthly_overage_price(tenant, on_plan, setup):
    if setup == "yearly":
        on_plan("starter", cycle="yearly")
    elif setup == "canceled":
        on_plan("starter", status="canceled")
    elif setup != "none":
        on_plan(setup)
    use(tenant, 2_000_000)
    assert usage_overage_estimate(tenant=tenant) is None
