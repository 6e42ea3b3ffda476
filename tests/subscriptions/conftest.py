"""Fixtures of the subscriptions and coupons tests: Stripe (the session emulator, reset per test)
with the catalog synced, test clocks on, and helpers to move a tenant through time."""

import pytest


def pytest_configure(config):
    # The emulator's fixtures (stripe_emulator, webhook_sink) come from its plugin; load it once
    # whichever directory asks first.
    if not config.pluginmanager.has_plugin("stripe_emulator.pytest_plugin"):
        config.pluginmanager.import_plugin("stripe_emulator.pytest_plugin")


@pytest.fixture
def stripe_on(stripe_settings, settings):
    stripe_settings.reset()
    settings.STRIPE_TEST_CLOCKS = True
    settings.SUBSCRIPTION_GRACE_DAYS = 7
    yield stripe_settings
    stripe_settings.reset()


@pytest.fixture
def catalog(stripe_on, db):
    from subscriptions.models import Plan
    from subscriptions.services.catalog import plan_sync_all_to_stripe

    plan_sync_all_to_stripe()
    return {plan.code: plan for plan in Plan.objects.all()}


@pytest.fixture
def billing_admin_client(client_for, billing_admin):
    return client_for(billing_admin)


@pytest.fixture
def other_client(client_for, other_owner):
    return client_for(other_owner)


def subscribe(client, **body):
    response = client.post("/api/v1/subscriptions", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


class Forwarder:
    """Posts the emulator's webhook deliveries (caught by its sink) as received, body and
    Stripe-Signature, to POST /api/v1/webhooks/stripe."""

    def __init__(self, sink, client, emulator=None):
        self.sink, self.client, self.emulator, self.sent = sink, client, emulator, 0

    def pending(self):
        # The emulator delivers an API call's events on its own threads, after the call answered
        # (only a clock advance waits for them): wait until its queue is empty, or an event still
        # on its way is left for a later call and the test sees the state before it.
        if self.emulator is not None:
            self.emulator.wait_for_webhooks(timeout=10)
        new = [r for r in self.sink.requests[self.sent :] if r["status"] < 300]
        self.sent = len(self.sink.requests)
        return new

    def post(self, request, signature=None):
        return self.client.generic(
            "POST",
            "/api/v1/webhooks/stripe",
            request["body"],
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=signature or request["headers"]["Stripe-Signature"],
        )

    def deliver(self, requests=None):
        responses = [self.post(r) for r in (self.pending() if requests is None else requests)]
        assert all(r.status_code == 200 for r in responses), [
            r.content for r in responses if r.status_code != 200
        ]
        return responses


@pytest.fixture
def hooks(catalog, webhook_sink, settings, api_client, stripe_emulator):
    settings.STRIPE_WEBHOOK_SECRET = webhook_sink.secret
    return Forwarder(webhook_sink, api_client, stripe_emulator)


@pytest.fixture
def finance_admin(finance_staff):
    """Django's test client logged in to the admin as the finance staff user."""
    from django.test import Client

    client = Client()
    client.force_login(finance_staff)
    return client


def admin_action(client, changelist: str, action: str, objects, **form):
    """POST an admin action on the changelist for these objects (`apply=1` submits an action's form page)."""
    return client.post(
        changelist, {"action": action, "_selected_action": [obj.pk for obj in objects], **form}
    )
