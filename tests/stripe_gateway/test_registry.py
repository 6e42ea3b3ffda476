"""The webhook registry: handlers keyed by event type, one re-fetch shared by every handler, no row
lock while Stripe is called, and replays through the same path."""

import pytest

from billing_project.stripe_gateway import webhooks as registry
from tests.subscriptions.conftest import catalog, stripe_on  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db


def test_apps_register_by_event_type():
    names = lambda event_type: [h.name for h in registry.handlers_for(event_type)]  # noqa: E731
    # invoicing's state first, then the finance facts read the invoice the endpoint re-fetched once.
    assert names("invoice.payment_failed") == [
        "invoicing.handlers.invoice_changed",
        "analytics.handlers.invoice_fact",
    ]
    # INSTALLED_APPS order: the subscriptions app mirrors the customer before invoicing reacts.
    assert names("customer.updated") == [
        "subscriptions.handlers.customer_changed",
        "invoicing.handlers.customer_card_changed",
    ]
    # ... and outbound webhooks announce the change once the state is current.
    assert names("customer.subscription.updated") == [
        "subscriptions.handlers.subscription_changed",
        "analytics.handlers.subscription_movement",
        "webhooks.handlers.subscription_announced",
    ]
    assert names("charge.succeeded") == []
    assert [h.name for h in registry.handlers_for("customer.updated", apps={"invoicing"})] == [
        "invoicing.handlers.customer_card_changed"
    ]


def test_registering_twice_keeps_one_handler():
    calls = []

    def handler(event):
        calls.append(event)

    try:
        registry.stripe_webhook("test.registry.twice")(handler)
        registry.stripe_webhook("test.registry.twice")(handler)
        assert len(registry.handlers_for("test.registry.twice")) == 1
    finally:
        registry._registry.pop("test.registry.twice", None)
    with pytest.raises(ValueError):
        registry.stripe_webhook()


@pytest.fixture
def account(stripe_on, tenant):  # noqa: F811 (a pytest fixture imported above)
    from subscriptions.services.customers import customer_ensure

    return customer_ensure(tenant=tenant)


def _payload(event_type, obj, event_id="evt_registry_1"):
    return {
        "id": event_id,
        "object": "event",
        "type": event_type,
        "created": 1_700_000_000,
        "data": {"object": obj, "previous_attributes": {}},
    }


@pytest.fixture
def probes(monkeypatch):
    """Two handlers of one made-up event type: one wants the object fresh, one does not."""
    seen = []
    fetches = []
    monkeypatch.setitem(
        registry._FETCHERS,
        "probe",
        lambda object_id: (
            fetches.append(object_id) or {"id": object_id, "object": "probe", "fresh": True}
        ),
    )

    @registry.stripe_webhook("probe.changed", fresh=True)
    def probe_fresh(event):
        seen.append(("fresh", event.object))

    @registry.stripe_webhook("probe.changed")
    def probe_plain(event):
        seen.append(("plain", event.object))

    yield seen, fetches
    registry._registry.pop("probe.changed", None)


def test_one_fetch_is_handed_to_every_handler(account, probes):
    from subscriptions.services.webhooks import webhook_handle

    seen, fetches = probes
    event = webhook_handle(
        payload=_payload(
            "probe.changed",
            {"id": "pr_1", "object": "probe", "customer": account.stripe_customer_id},
        )
    )
    assert fetches == ["pr_1"]
    assert [kind for kind, _ in seen] == ["fresh", "plain"]
    assert seen[0][1] is seen[1][1] and seen[0][1]["fresh"] is True
    assert event.tenant == account.tenant


def test_unknown_customer_or_type_is_ignored(account, probes):
    from subscriptions.models import WebhookEvent
    from subscriptions.services.webhooks import webhook_handle, webhook_process

    seen, fetches = probes
    assert (
        webhook_handle(
            payload=_payload(
                "probe.changed", {"id": "pr_1", "object": "probe", "customer": "cus_somebody_else"}
            )
        )
        is None
    )
    assert (
        webhook_handle(
            payload=_payload(
                "charge.succeeded",
                {"id": "ch_1", "object": "charge", "customer": account.stripe_customer_id},
            )
        )
        is None
    )
    assert seen == [] and fetches == []
    row = WebhookEvent.objects.create(
        event_id="evt_ign",
        type="charge.succeeded",
        payload=_payload(
            "charge.succeeded",
            {"id": "ch_1", "object": "charge", "customer": account.stripe_customer_id},
            "evt_ign",
        ),
    )
    assert webhook_process(event=row).status == "ignored"


def test_handlers_run_outside_the_claim_and_failures_are_recorded(account, probes):
    """The event row is locked only to claim it: handlers (which call Stripe) run with no atomic
    block of the endpoint open. A failure is stored with the attempt count; a replay succeeds."""
    from django.db import connection
    from django.utils import timezone

    from subscriptions.models import WebhookEvent
    from subscriptions.services.webhooks import webhook_process, webhook_replay

    seen = []
    fail = {"now": True}

    @registry.stripe_webhook("probe.changed")
    def probe_checks_the_row(event):
        seen.append(
            (WebhookEvent.objects.get(event_id=event.id).status, list(connection.savepoint_ids))
        )
        if fail["now"]:
            raise RuntimeError("handler broke")

    row = WebhookEvent.objects.create(
        event_id="evt_lock",
        type="probe.changed",
        payload=_payload(
            "probe.changed",
            {"id": "pr_1", "object": "probe", "customer": account.stripe_customer_id},
            "evt_lock",
        ),
    )
    outer = list(connection.savepoint_ids)
    done = webhook_process(event=row)
    assert seen == [("processing", outer)]  # claimed, and no transaction of the endpoint around it
    assert (
        done.status == "failed"
        and done.attempts == 1
        and done.error == "RuntimeError: handler broke"
    )
    # Stripe's redelivery of a failed event runs it again.
    assert webhook_process(event=row).attempts == 2
    fail["now"] = False
    assert webhook_replay(since=timezone.now() - timezone.timedelta(hours=1), failed_only=True) == 1
    again = WebhookEvent.objects.get(pk=row.pk)
    assert again.status == "processed" and again.error == "" and again.tenant == account.tenant
    assert again.attempts == 3


def test_a_claimed_event_is_not_processed_twice(account, probes):
    from django.utils import timezone

    from subscriptions.models import WebhookEvent
    from subscriptions.services.webhooks import webhook_process

    seen, _ = probes
    row = WebhookEvent.objects.create(
        event_id="evt_busy",
        type="probe.changed",
        status="processing",
        started_at=timezone.now(),
        attempts=1,
        payload=_payload(
            "probe.changed",
            {"id": "pr_1", "object": "probe", "customer": account.stripe_customer_id},
            "evt_busy",
        ),
    )
    assert webhook_process(event=row).status == "processing" and seen == []
    # A claim older than the timeout is a dead worker's: taken over.
    WebhookEvent.objects.filter(pk=row.pk).update(
        started_at=timezone.now() - timezone.timedelta(minutes=10)
    )
    done = webhook_process(event=row)
    assert done.status == "processed" and done.attempts == 2 and len(seen) == 2
