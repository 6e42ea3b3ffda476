"""Metered usage goes to Stripe (the emulator) as meter events, never twice."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
import requests
from django_tenants.utils import tenant_context

from subscriptions.models import BillingAccount
from tests.usage.conftest import event
from usage.models import MeterPush
from usage.services import usage_event_ingest_batch, usage_meter_push

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(tenant, stripe_settings, stripe_emulator_fresh, stripe_client):
    stripe_customer = stripe_client.v1.customers.create({"email": "billing@acme.test"})
    BillingAccount.objects.update_or_create(
        tenant=tenant, defaults={"stripe_customer_id": stripe_customer.id}
    )
    return stripe_customer.id


def stripe_total(stripe_client, customer) -> Decimal:
    meter = next(
        m for m in stripe_client.v1.billing.meters.list().data if m.event_name == "api_calls"
    )
    now = int(datetime.now(UTC).timestamp())
    summaries = stripe_client.v1.billing.meters.event_summaries.list(
        meter.id, {"customer": customer, "start_time": now - 40 * 86400, "end_time": now + 86400}
    )
    return sum(Decimal(str(s.aggregated_value)) for s in summaries.data)


def test_push_sends_the_difference_once_across_reruns(tenant, customer, stripe_client):
    usage_event_ingest_batch(tenant=tenant, events=[event(quantity="1500")])
    assert [p.pushed_quantity for p in usage_meter_push(tenant=tenant)] == [1500]
    assert usage_meter_push(tenant=tenant) == []  # nothing new: nothing sent
    usage_event_ingest_batch(
        tenant=tenant,
        events=[event(quantity="250"), event(quantity="7", period_start="2024-01-03T00:00:00Z")],
    )
    usage_meter_push(tenant=tenant)
    assert stripe_total(stripe_client, customer) == 1757  # the late January event is billed now


def test_a_run_that_crashed_after_stripe_answered_does_not_bill_twice(
    tenant, customer, stripe_client
):
    usage_event_ingest_batch(tenant=tenant, events=[event(quantity="40")])
    usage_meter_push(tenant=tenant)
    with tenant_context(tenant):  # as if our save had been lost after Stripe took the event
        MeterPush.objects.update(pushed_quantity=0, last_identifier="")
    usage_meter_push(tenant=tenant)
    assert stripe_total(stripe_client, customer) == 40
    with tenant_context(tenant):
        assert MeterPush.objects.get().pushed_quantity == 40


def test_failures_are_recorded_and_retried_on_the_next_run(
    tenant, customer, stripe_client, stripe_emulator
):
    usage_event_ingest_batch(tenant=tenant, events=[event(quantity="9")])
    requests.post(
        f"{stripe_emulator.url}/_emulator/faults",
        json={"path": "/v1/billing/meter_events", "method": "POST", "status": 500, "count": 3},
        timeout=5,
    )
    [push] = usage_meter_push(tenant=tenant)
    assert push.failures == 1 and push.last_error and push.pushed_quantity == 0
    [push] = usage_meter_push(tenant=tenant)
    assert push.failures == 0 and push.pushed_quantity == 9 and push.last_error == ""
    assert stripe_total(stripe_client, customer) == 9


def test_tenant_without_stripe_customer_pushes_nothing(tenant, stripe_settings):
    usage_event_ingest_batch(tenant=tenant, events=[event(quantity="3")])
    assert usage_meter_push(tenant=tenant) == []
