"""Fixtures of the portal tests: Django test clients on a tenant's host, signed in as a member."""

import itertools
import random

import pytest
from django.test import Client

PORTAL_HOST = "acme.localhost"
OTHER_PORTAL_HOST = "globex.localhost"
# Each client gets its own address: the login throttle counts failures per IP (see tests/conftest.py).
_ip_counter = itertools.count(random.randrange(1, 2**24 - 10_000))


def new_portal_client(host: str = PORTAL_HOST, **defaults) -> Client:
    n = next(_ip_counter)
    return Client(
        HTTP_HOST=host, REMOTE_ADDR=f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}", **defaults
    )


def sign_in(client: Client, user, tenant) -> Client:
    """A session as the login page leaves it, without paying for a password hash in every test."""
    from portal.access import SESSION_TENANT_KEY

    client.force_login(user)
    session = client.session
    session[SESSION_TENANT_KEY] = tenant.tenant_id
    session.save()
    return client


@pytest.fixture
def portal_client():
    return new_portal_client()


@pytest.fixture
def portal_client_for(tenant):
    """portal_client_for(user) -> a client on acme's host, signed in as that user."""

    def make(user, host: str = PORTAL_HOST, on_tenant=None):
        return sign_in(new_portal_client(host), user, on_tenant or tenant)

    return make


@pytest.fixture
def owner_portal(portal_client_for, owner):
    return portal_client_for(owner)


@pytest.fixture
def admin_portal(portal_client_for, billing_admin):
    return portal_client_for(billing_admin)


@pytest.fixture
def viewer_portal(portal_client_for, viewer):
    return portal_client_for(viewer)


@pytest.fixture
def subscribed(stripe_settings, settings, tenant):
    """acme on the Starter plan (monthly, paid with a test card) in the session's Stripe emulator."""
    from subscriptions.selectors import plan_catalog_invalidate
    from subscriptions.services.catalog import plan_sync_all_to_stripe
    from subscriptions.services.subscriptions import subscription_create

    stripe_settings.reset()
    # dj-stripe accepts only sk_test_ + 24 alphanumerics; the emulator accepts any sk_test_ key.
    settings.STRIPE_API_KEY = settings.STRIPE_TEST_SECRET_KEY = "sk_test_" + "emulator" * 3
    settings.STRIPE_TEST_CLOCKS = True
    plan_sync_all_to_stripe()
    account, _ = subscription_create(
        tenant=tenant, plan_id="starter", payment_method="pm_card_visa"
    )
    yield account
    # The public plan list is cached in Redis, which the test's rollback does not reach: drop the
    # copy holding this test's Stripe price ids.
    plan_catalog_invalidate()
    stripe_settings.reset()
