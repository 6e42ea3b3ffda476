"""Daily beat checks over dj-stripe's mirror: the trial-ending backstop and expiring cards, once each."""

import datetime as dt

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from notifications import tasks
from notifications.models import BillingEvent

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 11, 25, 7, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def customer(tenant):
    from djstripe.models import Customer

    return Customer.objects.create(id="cus_n9", livemode=False, subscriber=tenant, stripe_data={"id": "cus_n9"})


def _subscription(customer, sub_id, status, trial_end):
    from djstripe.models import Subscription

    return Subscription.objects.create(id=sub_id, livemode=False, customer=customer,
                                       stripe_data={"id": sub_id, "status": status, "trial_end": trial_end})


def _card(customer, pm_id, year, month):
    from djstripe.models import PaymentMethod

    return PaymentMethod.objects.create(id=pm_id, livemode=False, customer=customer, stripe_data={
        "id": pm_id, "type": "card", "card": {"brand": "visa", "last4": "4242", "exp_month": month, "exp_year": year}})


def test_trial_ending_backstop_emits_once_for_trials_ending_within_three_days(tenant, customer, emit, mailoutbox):
    from notifications.services import trial_ending_check

    in_two_days = int((NOW + dt.timedelta(days=2)).timestamp())
    _subscription(customer, "sub_soon", "trialing", in_two_days)
    _subscription(customer, "sub_later", "trialing", int((NOW + dt.timedelta(days=10)).timestamp()))
    _subscription(customer, "sub_active", "active", in_two_days)

    assert trial_ending_check(tenant=tenant, now=NOW) == 1
    assert trial_ending_check(tenant=tenant, now=NOW + dt.timedelta(hours=24)) == 0  # tomorrow's run
    with tenant_context(tenant):
        [event] = BillingEvent.objects.filter(kind="trial_ending")
    assert event.dedup_key == f"trial_ending:sub_soon:{in_two_days}"


def test_card_expiring_within_30_days_is_announced_once_by_the_daily_task(tenant, customer, eager, mailoutbox,
                                                                           django_capture_on_commit_callbacks):
    today = timezone.now().date()
    _card(customer, "pm_expiring", today.year, today.month)  # valid to the end of this month
    _card(customer, "pm_fine", today.year + 2, 1)
    for _ in range(2):  # two daily runs
        with tenant_context(tenant), django_capture_on_commit_callbacks(execute=True):
            tasks.notifications_daily_checks.delay()
    assert sorted(m.to[0] for m in mailoutbox) == ["admin@acme.test", "owner@acme.test"]
    assert mailoutbox[0].subject.startswith("Your card ending in 4242 expires soon")
    assert f"{today.month:02d}/{today.year}" in mailoutbox[0].body
