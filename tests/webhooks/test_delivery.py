"""Delivery as a receiver sees it: Svix's retry schedule with one webhook-id, rotation overlap,
an endpoint failing for 5 days disabled and its owners told, the outbound policy at send time, and
end to end from the Stripe emulator (a declined renewal on a test clock)."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from django_tenants.utils import tenant_context

from notifications.models import Notification
from tests.subscriptions.conftest import subscribe
from webhooks.models import Event, WebhookDelivery, WebhookEndpoint
from webhooks.services import (
    RETRY_SCHEDULE_SECONDS,
    emit_event,
    endpoint_rotate_secret,
    retry_delay,
)

pytestmark = pytest.mark.django_db


def _emit(tenant, key="k"):
    return emit_event(tenant=tenant, type="coupon.redeemed", obj={"code": "X"}, dedup_key=key)


def _delivery(tenant):
    with tenant_context(tenant):
        return WebhookDelivery.objects.select_related("endpoint").get()


def test_the_schedule_is_svixs_with_jitter():
    assert RETRY_SCHEDULE_SECONDS == (0, 5, 300, 1800, 7200, 18000, 36000, 36000)
    delays = {round(retry_delay(2), 3) for _ in range(20)}
    assert len(delays) > 1 and all(240 <= d <= 360 for d in delays)
    assert retry_delay(len(RETRY_SCHEDULE_SECONDS)) is None  # the 8th failure is the last


def test_500_twice_then_200_is_three_attempts_with_one_webhook_id(
    tenant, receiver, endpoint_of, flush
):
    endpoint, secret = endpoint_of(tenant, receiver.url)
    receiver.verify_with(secret)
    receiver.statuses = [500, 500, 200]
    _emit(tenant)
    t0 = timezone.now()
    assert flush(tenant, endpoint, now=t0) == 1
    assert flush(tenant, endpoint, now=t0 + timedelta(seconds=3)) == 0  # not due before ~5 s
    assert flush(tenant, endpoint, now=t0 + timedelta(seconds=7)) == 1
    delivery = _delivery(tenant)
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("retrying", 2, 500)
    assert delivery.response_body == "boom"
    assert flush(tenant, endpoint, now=t0 + timedelta(seconds=7 + 400)) == 1

    assert len(receiver.requests) == 3
    assert len({r["headers"]["webhook-id"] for r in receiver.requests}) == 1
    assert all(r["verified"] == {secret: True} for r in receiver.requests)
    delivery = _delivery(tenant)
    assert (delivery.status, delivery.attempts) == ("delivered", 3)
    assert delivery.endpoint.failing_since is None


def test_rotation_both_secrets_verify_during_the_overlap_then_only_the_new(
    tenant, receiver, endpoint_of, flush
):
    endpoint, old = endpoint_of(tenant, receiver.url)
    endpoint, new = endpoint_rotate_secret(
        tenant=tenant, actor="test", endpoint_id=endpoint.endpoint_id
    )
    receiver.verify_with(old, new)
    _emit(tenant, "during")
    flush(tenant, endpoint)
    assert receiver.requests[-1]["verified"] == {old: True, new: True}
    assert len(receiver.requests[-1]["headers"]["webhook-signature"].split(" ")) == 2

    _emit(tenant, "after")
    flush(tenant, endpoint, now=timezone.now() + timedelta(hours=25))
    assert receiver.requests[-1]["verified"] == {old: False, new: True}


def test_five_days_of_failure_disable_the_endpoint_and_tell_the_owners(
    tenant,
    receiver,
    endpoint_of,
    flush,
    eager,
    django_capture_on_commit_callbacks,
):
    endpoint, _ = endpoint_of(tenant, receiver.url)
    receiver.statuses = [503]
    _emit(tenant, "a")
    t0 = timezone.now()
    assert flush(tenant, endpoint, now=t0) == 1
    _emit(tenant, "b")
    flush(tenant, endpoint, now=t0 + timedelta(days=4))
    with tenant_context(tenant):
        assert WebhookEndpoint.objects.get().enabled  # 4 days: still on
    mail.outbox.clear()
    _emit(tenant, "c")
    with django_capture_on_commit_callbacks(execute=True):
        flush(tenant, endpoint, now=t0 + timedelta(days=5, minutes=1))
    with tenant_context(tenant):
        endpoint = WebhookEndpoint.objects.get()
        notes = list(Notification.objects.filter(kind="webhook_endpoint_disabled"))
    assert not endpoint.enabled and "5 days" in endpoint.disabled_reason
    assert len(notes) == 1 and receiver.url in notes[0].body
    assert any("owner@acme.test" in m.to for m in mail.outbox), [m.to for m in mail.outbox]
    sent = len(receiver.requests)
    _emit(tenant, "d")
    flush(tenant, endpoint, now=t0 + timedelta(days=6))
    assert len(receiver.requests) == sent  # disabled: nothing more goes out


def test_a_name_resolving_to_loopback_is_refused_when_sending(
    tenant,
    receiver,
    endpoint_of,
    flush,
    fake_dns,
    settings,
):
    endpoint, _ = endpoint_of(tenant, receiver.url)
    settings.OUTBOUND_ALLOW_PRIVATE_HOSTS = []
    settings.OUTBOUND_URL_ALLOWLIST = []
    fake_dns({"hooks.example.test": ["127.0.0.1"]})
    with tenant_context(tenant):
        WebhookEndpoint.objects.update(
            url=f"http://hooks.example.test:{receiver.server.server_port}/hooks"
        )
    _emit(tenant)
    flush(tenant, endpoint)
    delivery = _delivery(tenant)
    assert receiver.requests == []
    # Refused by the policy: failed at once (another try would be refused too), the reason logged.
    assert delivery.status == "failed" and "refused" in delivery.last_error
    assert "127.0.0.1" in delivery.last_error


def test_a_redirect_to_a_private_address_is_not_followed(tenant, receiver, endpoint_of, flush):
    from tests.security.conftest import Receiver as Inside

    inside = Inside()
    try:
        endpoint, _ = endpoint_of(tenant, receiver.url)
        receiver.statuses = [307]
        receiver.location = inside.url("/stolen")
        _emit(tenant)
        flush(tenant, endpoint)
        delivery = _delivery(tenant)
        assert delivery.status == "retrying" and delivery.response_status == 307
        assert inside.requests == []
    finally:
        inside.close()


def test_a_declined_renewal_reaches_the_receiver_three_times_with_one_id_and_a_replay_adds_nothing(
    hooks,
    owner_client,
    tenant,
    receiver,
    endpoint_of,
    flush,
    django_capture_on_commit_callbacks,
):
    from subscriptions.services.clocks import test_clock_advance

    endpoint, secret = endpoint_of(tenant, receiver.url, events=["invoice.payment_failed"])
    receiver.verify_with(secret)
    receiver.statuses = [500, 500, 200]
    subscribe(
        owner_client, plan_id="starter", payment_method="pm_card_chargeCustomerFail", trial_days=3
    )
    with django_capture_on_commit_callbacks(execute=True):
        hooks.deliver()
    test_clock_advance(tenant=tenant, days=4)
    deliveries = hooks.pending()
    assert any('"invoice.payment_failed"' in r["body"] for r in deliveries)
    with django_capture_on_commit_callbacks(execute=True):
        hooks.deliver(deliveries)
    t0 = timezone.now()
    for offset in (0, 7, 7 + 400):
        flush(tenant, endpoint, now=t0 + timedelta(seconds=offset))

    assert [r["json"]["type"] for r in receiver.requests] == ["invoice.payment_failed"] * 3
    assert len({r["headers"]["webhook-id"] for r in receiver.requests}) == 1
    assert all(r["verified"] == {secret: True} for r in receiver.requests)
    invoice = receiver.requests[0]["json"]["data"]["object"]
    assert invoice["invoice_id"].startswith("in_") and invoice["amount_due"] == "29.00"
    assert _delivery(tenant).status == "delivered"

    # Stripe re-delivers the same webhooks (or an operator replays them): no new event.
    with tenant_context(tenant):
        events_before = Event.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        hooks.deliver(deliveries)
    with tenant_context(tenant):
        assert Event.objects.count() == events_before
    flush(tenant, endpoint, now=t0 + timedelta(hours=1))
    assert len(receiver.requests) == 3
