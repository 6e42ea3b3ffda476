"""Daily beat checks: the trial-ending backstop (from the BillingAccount) and expiring cards (dj-stripe's mirror), once each."""

import datetime as dt

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from notifications import tasks
from notifications.models import BillingEvent

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 11, 25, 7, 0, tzinfo=dt.UTC)


@pytest.fixture
def customer(tenant):
    from djstripe.models import Customer

    return Customer.objects.create(
        id="cus_n9", livemode=False, subscriber=tenant, stripe_data={"id": "cus_n9"}
    )


def _subscription(customer, sub_id, status, trial_end):
    from djstripe.models import Subscription

    return Subscription.objects.create(
        id=sub_id,
        livemode=False,
        customer=customer,
        stripe_data={"id": sub_id, "status": status, "trial_end": trial_end},
    )


def _card(customer, pm_id, year, month):
    from djstripe.models import PaymentMethod

    return PaymentMethod.objects.create(
        id=pm_id,
        livemode=False,
        customer=customer,
        stripe_data={
            "id": pm_id,
            "type": "card",
            "card": {"brand": "visa", "last4": "4242", "exp_month": month, "exp_year": year},
        },
    )


def _trial(tenant, sub_id, status, trial_end):
    """The tenant's subscription state as its BillingAccount holds it (the one source of that state)."""
    from subscriptions.models import BillingAccount

    BillingAccount.objects.update_or_create(
        tenant=tenant,
        defaults={
            "subscription_id": sub_id,
            "status": status,
            "trial_end": dt.datetime.fromtimestamp(trial_end, tz=dt.UTC),
        },
    )


def test_trial_ending_backstop_emits_once_for_trials_ending_within_three_days(
    tenant, emit, mailoutbox
):
    from notifications.services import trial_ending_check

    in_two_days = int((NOW + dt.timedelta(days=2)).timestamp())
    _trial(tenant, "sub_soon", "trialing", in_two_days)

    assert trial_ending_check(tenant=tenant, now=NOW) == 1
    assert (
        trial_ending_check(tenant=tenant, now=NOW + dt.timedelta(hours=24)) == 0
    )  # tomorrow's run
    with tenant_context(tenant):
        [event] = BillingEvent.objects.filter(kind="trial_ending")
    assert event.dedup_key == f"trial_ending:sub_soon:{in_two_days}"


@pytest.mark.parametrize(
    "sub_id, status, days", [("sub_later", "trialing", 10), ("sub_active", "active", 2)]
)
def test_trial_ending_backstop_skips_later_trials_and_paying_subscriptions(
    tenant, emit, sub_id, status, days
):
    from notifications.services import trial_ending_check

    _trial(tenant, sub_id, status, int((NOW + dt.timedelta(days=days)).timestamp()))
    assert trial_ending_check(tenant=tenant, now=NOW) == 0


def test_trial_ending_backstop_reads_the_billing_account_not_the_mirror(tenant, customer, emit):
    """A trial converted to paid (the account says active) while dj-stripe's copy still says trialing."""
    from notifications.services import trial_ending_check

    in_two_days = int((NOW + dt.timedelta(days=2)).timestamp())
    _subscription(customer, "sub_converted", "trialing", in_two_days)
    _trial(tenant, "sub_converted", "active", in_two_days)
    assert trial_ending_check(tenant=tenant, now=NOW) == 0


def test_card_expiring_within_30_days_is_announced_once_by_the_daily_task(
    tenant, customer, eager, mailoutbox, django_capture_on_commit_callbacks
):
    today = timezone.now().date()
    _card(customer, "pm_expiring", today.year, today.month)  # valid to the end of this month
    _card(customer, "pm_fine", today.year + 2, 1)
    for _ in range(2):  # two daily runs
        with tenant_context(tenant), django_capture_on_commit_callbacks(execute=True):
            tasks.notifications_daily_checks.delay()
    assert sorted(m.to[0] for m in mailoutbox) == ["admin@acme.test", "owner@acme.test"]
    assert mailoutbox[0].subject.startswith("Your card ending in 4242 expires soon")
    assert f"{today.month:02d}/{today.year}" in mailoutbox[0].body
