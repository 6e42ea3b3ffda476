"""Fixtures of the whole suite.

The test database is migrated once per session; the two tenants every test may use (acme and globex)
and their people are created once, in django_db_setup, and committed. Tests run in transactions
rolled back at the end, so nothing a test writes (rows, even new schemas) outlives it.
"""

import itertools
import random
import uuid

import pytest
from django.db import connection
from rest_framework.test import APIClient

DEMO_PASSWORD = "correct-horse-9"
STRIPE_TEST_KEY = "sk_test_" + "emulator" * 4
TEST_EMAILS = [
    "owner@acme.test",
    "admin@acme.test",
    "viewer@acme.test",
    "owner@globex.test",
    "finance@platform.test",
    "support@platform.test",
]
# Client addresses start at a random point each session: login-failure counters live in Redis for
# 15 minutes, and one session's failures must not throttle the next session's tests.
_ip_counter = itertools.count(random.randrange(1, 2**24 - 10_000))


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    from django.contrib.auth.models import Group

    from tenants import services
    from tenants.models import Role, User

    for email in TEST_EMAILS:
        services.LoginThrottle(email=email, ip="-").succeed()
    with django_db_blocker.unblock():
        services.tenant_template_ensure(force=True)
        acme = services.tenant_create(name="Acme Corp", slug="acme", email="billing@acme.test")
        globex = services.tenant_create(
            name="Globex", slug="globex", email="billing@globex.test", locale="pt-br"
        )
        for email, tenant, role in [  # TEST_EMAILS
            ("owner@acme.test", acme, Role.OWNER),
            ("admin@acme.test", acme, Role.BILLING_ADMIN),
            ("viewer@acme.test", acme, Role.VIEWER),
            ("owner@globex.test", globex, Role.OWNER),
        ]:
            services.membership_create(
                tenant=tenant, email=email, role=role, password=DEMO_PASSWORD
            )
        finance = User.objects.create_user(
            email="finance@platform.test", password=DEMO_PASSWORD, is_staff=True
        )
        finance.groups.add(Group.objects.get(name="finance"))
        support = User.objects.create_user(
            email="support@platform.test", password=DEMO_PASSWORD, is_staff=True
        )
        support.groups.add(Group.objects.get(name="support"))
    yield
    # Connections that threads of this session left open (a live server's, a thread pool's) would
    # keep pytest-django from dropping the test database; nothing uses them any more.
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


@pytest.fixture(autouse=True)
def _public_schema_after_test():
    yield
    connection.set_schema_to_public()


@pytest.fixture(autouse=True)
def _default_language_after_test():
    """A test that activates a language (pt-BR pages, es emails) must not leave it on this thread:
    the next test would format money and dates in it."""
    from django.utils import translation

    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _process_memos_clean():
    """Per-process memos and the Redis copy of the plan catalog outlive a test's rolled-back
    transaction (and a plan saved in a test never commits, so never invalidates the copy): start
    each test without them."""
    from subscriptions.selectors import plan_catalog_invalidate
    from tenants.cache import forget_local
    from usage.counters import alerts_seen_forget

    def clean():
        forget_local()
        alerts_seen_forget()
        plan_catalog_invalidate()

    clean()
    yield
    clean()


@pytest.fixture
def tenant(db):
    from tenants.models import Tenant

    return Tenant.objects.get(slug="acme")


@pytest.fixture
def other_tenant(db):
    from tenants.models import Tenant

    return Tenant.objects.get(slug="globex")


def _user(email):
    from tenants.models import User

    return User.objects.get(email=email)


@pytest.fixture
def owner(db):
    return _user("owner@acme.test")


@pytest.fixture
def billing_admin(db):
    return _user("admin@acme.test")


@pytest.fixture
def viewer(db):
    return _user("viewer@acme.test")


@pytest.fixture
def other_owner(db):
    return _user("owner@globex.test")


@pytest.fixture
def finance_staff(db):
    return _user("finance@platform.test")


@pytest.fixture
def support_staff(db):
    return _user("support@platform.test")


def new_client() -> APIClient:
    # Each client gets its own address, so the per-IP login throttle of one test never counts
    # another test's failures.
    n = next(_ip_counter)
    return APIClient(REMOTE_ADDR=f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}")


@pytest.fixture
def api_client():
    return new_client()


def token_for(user, tenant_slug=None) -> str:
    from tenants.services import auth_login

    return auth_login(
        email=user.email,
        password=DEMO_PASSWORD,
        ip=f"192.0.2.{uuid.uuid4().int % 250}",
        tenant_slug=tenant_slug,
    )["access_token"]


@pytest.fixture
def client_for(db):
    """client_for(user) -> an APIClient sending that user's access token."""

    def make(user, **headers):
        client = new_client()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(user)}", **headers)
        return client

    return make


@pytest.fixture
def owner_client(client_for, owner):
    return client_for(owner)


@pytest.fixture
def viewer_client(client_for, viewer):
    return client_for(viewer)


@pytest.fixture
def finance_client(client_for, finance_staff):
    return client_for(finance_staff)


def assert_error(response, status: int, code: str):
    """The API's one error shape, with the expected status and code."""
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "detail"}, body
    assert body["error"]["code"] == code, body
    assert body["error"]["message"]
    return body["error"]


@pytest.fixture
def stripe_settings(settings, stripe_emulator):
    """Point the product's Stripe settings at the session's emulator (state reset per test is the
    test's choice: `stripe_emulator.reset()`)."""
    # dj-stripe refuses keys shorter than sk_test_ + 24 characters; the emulator takes any sk_test_ key.
    settings.STRIPE_API_KEY = STRIPE_TEST_KEY
    settings.STRIPE_TEST_SECRET_KEY = STRIPE_TEST_KEY
    settings.STRIPE_API_BASE = stripe_emulator.url
    settings.STRIPE_WEBHOOK_SECRET = "whsec_test_secret"
    return stripe_emulator


@pytest.fixture
def caching(monkeypatch):
    """tenants.cache switched on inside the test's transaction (where it stays out of the way),
    with a new subscription at the first lookup; commits' publications are played with
    django_capture_on_commit_callbacks, another process's with change_published_elsewhere."""
    from tenants import cache

    monkeypatch.setattr(cache, "_cacheable", lambda: True)
    cache.restart()
    yield
    cache.restart()


def change_published_elsewhere(message: bytes | None = None) -> None:
    """What another process's tenants.cache.epoch_bump (or key_changed, given the key) does after its
    commit, up to the moment the message reached this process's subscription: a request here then
    starts after it, as a request sent after the other process answered does."""
    import select

    from billing_project.redis import get_redis
    from tenants import cache

    assert cache.epoch() is not None, "this process is not subscribed to the change channel"
    get_redis().publish(cache.channel(), message or cache.EVERYTHING)
    # On the socket, not through redis-py (which would read the message into its own buffer).
    assert select.select([cache._state["pubsub"].connection._sock], [], [], 5)[0]
