"""The billing-event interface: stored once per dedup key, delivered to subscribers after commit."""

import pytest
from django.db import connection
from django_tenants.utils import tenant_context

from notifications import events
from notifications.models import BillingEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def received(monkeypatch):
    seen = []
    monkeypatch.setattr(events, "_subscribers", {})
    events.billing_event_subscribe(
        "payment_failed", lambda e: seen.append((connection.schema_name, e.dedup_key))
    )
    return seen


def test_event_is_stored_in_the_tenants_schema_and_dispatched_after_commit(
    tenant, other_tenant, received, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        event = events.billing_event_emit(
            tenant=tenant,
            kind="payment_failed",
            object_id="in_1",
            dedup_key="payment_failed:in_1:1",
            data={"attempt": 1},
        )
    assert event is not None and received == []  # nothing before commit
    for callback in callbacks:
        callback()
    assert received == [("t_acme", "payment_failed:in_1:1")]
    with tenant_context(other_tenant):
        assert BillingEvent.objects.count() == 0


def test_same_dedup_key_twice_is_recorded_and_dispatched_once(
    tenant, received, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = events.billing_event_emit(tenant=tenant, kind="payment_failed", object_id="in_2")
        again = events.billing_event_emit(tenant=tenant, kind="payment_failed", object_id="in_2")
        next_attempt = events.billing_event_emit(
            tenant=tenant,
            kind="payment_failed",
            object_id="in_2",
            dedup_key="payment_failed:in_2:2",
        )
    assert first is not None and again is None and next_attempt is not None
    assert [key for _, key in received] == ["payment_failed:in_2", "payment_failed:in_2:2"]
    with tenant_context(tenant):
        assert BillingEvent.objects.filter(object_id="in_2").count() == 2


def test_unknown_kind_is_refused(tenant):
    with pytest.raises(ValueError):
        events.billing_event_emit(tenant=tenant, kind="made_up", object_id="x")


def test_a_failing_subscriber_does_not_stop_the_others(
    tenant, received, django_capture_on_commit_callbacks
):
    def broken(event):
        raise RuntimeError("boom")

    events.billing_event_subscribe("*", broken)
    with django_capture_on_commit_callbacks(execute=True):
        events.billing_event_emit(tenant=tenant, kind="payment_failed", object_id="in_3")
    assert [key for _, key in received] == ["payment_failed:in_3"]
