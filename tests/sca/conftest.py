"""Fixtures of the 3-D Secure (SCA) tests: the session's Stripe emulator, reset per test, with the
catalog synced and the policy row stored; webhooks fed to the handlers through `Billing`."""

import pytest

from tests.invoicing.conftest import Billing, celery_eager, media  # noqa: F401 (fixtures)


def pytest_configure(config):
    if not config.pluginmanager.has_plugin("stripe_emulator.pytest_plugin"):
        config.pluginmanager.import_plugin("stripe_emulator.pytest_plugin")


@pytest.fixture
def catalog(stripe_settings, settings, celery_eager, media, db):  # noqa: F811
    from policies.services import policy_ensure
    from subscriptions.models import Plan
    from subscriptions.selectors import plan_catalog_invalidate
    from subscriptions.services.catalog import plan_sync_all_to_stripe

    stripe_settings.reset()
    settings.STRIPE_TEST_CLOCKS = True
    policy_ensure()
    plan_sync_all_to_stripe()
    yield {plan.code: plan for plan in Plan.objects.all()}
    plan_catalog_invalidate()
    stripe_settings.reset()


@pytest.fixture
def billing(catalog, stripe_client, django_capture_on_commit_callbacks):
    return Billing(stripe_client, django_capture_on_commit_callbacks)
