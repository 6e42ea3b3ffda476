"""Fixtures of the subscriptions and coupons tests: Stripe (the session emulator, reset per test)
with the catalog synced, test clocks on, and helpers to move a tenant through time."""

import pytest


def pytest_configure(config):
    # The emulator's fixtures (stripe_emulator, webhook_sink) come from its plugin; load it once
    # whichever directory asks first.
    if not config.pluginmanager.has_plugin("stripe_emulator.pytest_plugin"):
        config.pluginmanager.import_plugin("stripe_emulator.pytest_plugin")

# dj-stripe accepts only sk_test_ + 24 alphanumerics; the emulator accepts any sk_test_ key.
DJSTRIPE_KEY = "sk_test_" + "emulator" * 3


@pytest.fixture
def stripe_on(stripe_settings, settings):
    stripe_settings.reset()
    settings.STRIPE_API_KEY = DJSTRIPE_KEY
    settings.STRIPE_TEST_SECRET_KEY = DJSTRIPE_KEY
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
