"""The per-process cache of host -> tenant and API key lookups (tenants/cache.py).

Tests run inside a transaction, where the cache stays out of the way; these switch it on and play
the commits' epoch bumps with django_capture_on_commit_callbacks, as a committed request would.
"""

import socket

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tenants import cache
from tenants.models import ApiKey, Membership, Tenant
from tenants.services import api_key_create, api_key_revoke
from tests.conftest import assert_error, change_published_elsewhere, new_client

pytestmark = pytest.mark.django_db

CURRENT = "/api/v1/tenants/current"


@pytest.fixture
def key_client(tenant):
    _, secret = api_key_create(tenant=tenant, name="cached", role="viewer")
    client = new_client()
    client.credentials(HTTP_X_API_KEY=secret)
    return client


def public_queries(client) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(CURRENT).status_code == 200
    return [
        q["sql"]
        for q in queries
        if q["sql"].startswith("SELECT")
        and ("tenants_apikey" in q["sql"] or "tenants_domain" in q["sql"])
    ]


def test_second_request_reads_neither_host_nor_key_from_the_database(caching, key_client):
    assert len(public_queries(key_client)) == 2
    assert public_queries(key_client) == []


def test_without_the_cache_every_request_reads_them(key_client):
    assert len(public_queries(key_client)) == 2
    assert len(public_queries(key_client)) == 2


def test_revoked_key_is_refused_on_the_next_request(
    caching, key_client, tenant, django_capture_on_commit_callbacks
):
    assert key_client.get(CURRENT).status_code == 200
    api_key = ApiKey.objects.get(tenant=tenant, name="cached")
    with django_capture_on_commit_callbacks(execute=True):
        api_key_revoke(tenant=tenant, api_key_id=api_key.id)
    assert_error(key_client.get(CURRENT), 401, "authentication_failed")


def test_suspended_tenant_is_refused_on_the_next_request(
    caching, key_client, tenant, django_capture_on_commit_callbacks
):
    assert key_client.get(CURRENT).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        tenant.status = Tenant.Status.SUSPENDED
        tenant.save(update_fields=["status"])
    assert_error(key_client.get(CURRENT), 401, "authentication_failed")


def test_a_change_committed_by_another_process_reaches_this_one_at_its_next_request(
    caching, key_client, tenant, monkeypatch
):
    assert key_client.get(CURRENT).status_code == 200
    # Another worker revoked the key: its row changed and it published the change.
    ApiKey.objects.filter(tenant=tenant, name="cached").update(revoked_at="2026-01-01T00:00:00Z")
    change_published_elsewhere()
    assert_error(key_client.get(CURRENT), 401, "authentication_failed")


def test_without_redis_nothing_is_cached(caching, key_client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    assert len(public_queries(key_client)) == 2
    assert len(public_queries(key_client)) == 2


def test_a_dropped_subscription_turns_the_cache_off_until_subscribed_again(
    caching, key_client, tenant
):
    assert len(public_queries(key_client)) == 2
    assert public_queries(key_client) == []
    # The connection drops (Redis restarted, a proxy cut it) and a key is revoked meanwhile: its
    # message is lost, so nothing cached before may be trusted any more.
    cache._state["pubsub"].connection._sock.shutdown(socket.SHUT_RDWR)
    ApiKey.objects.filter(tenant=tenant, name="cached").update(revoked_at="2026-01-01T00:00:00Z")
    assert_error(key_client.get(CURRENT), 401, "authentication_failed")
    ApiKey.objects.filter(tenant=tenant, name="cached").update(revoked_at=None)
    assert cache.epoch() is None  # RESUBSCRIBE_SECONDS later:
    cache._state["retry_at"] = float("-inf")
    assert len(public_queries(key_client)) == 2  # subscribed again, from an empty cache
    assert public_queries(key_client) == []


def test_access_token_user_and_membership_are_cached(caching, owner_client):
    def token_queries():
        with CaptureQueriesContext(connection) as queries:
            assert owner_client.get(CURRENT).status_code == 200
        return [
            q["sql"]
            for q in queries
            if q["sql"].startswith("SELECT")
            and ("tenants_user" in q["sql"] or "tenants_membership" in q["sql"])
        ]

    assert len(token_queries()) == 2
    assert token_queries() == []


def test_removed_member_is_refused_on_the_next_request(
    caching, owner_client, owner, tenant, django_capture_on_commit_callbacks
):
    assert owner_client.get(CURRENT).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        Membership.objects.get(user=owner, tenant=tenant).delete()
    assert_error(owner_client.get(CURRENT), 401, "authentication_failed")


def test_demoted_member_loses_writes_on_the_next_request(
    caching, client_for, billing_admin, tenant, django_capture_on_commit_callbacks
):
    client = client_for(billing_admin)
    body = {
        "resource_type": "api_calls",
        "quantity": 1,
        "unit": "requests",
        "period_start": "2026-11-01T00:00:00Z",
        "period_end": "2026-11-01T00:00:00Z",
        "source": "api",
    }
    assert client.post("/api/v1/usage", body, format="json").status_code == 201
    with django_capture_on_commit_callbacks(execute=True):
        membership = Membership.objects.get(user=billing_admin, tenant=tenant)
        membership.role = "viewer"
        membership.save()  # as the admin does
    assert_error(client.post("/api/v1/usage", body, format="json"), 403, "permission_denied")


def test_a_sign_in_elsewhere_keeps_the_cache(
    caching, key_client, owner, django_capture_on_commit_callbacks
):
    assert len(public_queries(key_client)) == 2
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        owner.save(update_fields=["last_login"])  # what django.contrib.auth's login does
    assert callbacks == []
    assert public_queries(key_client) == []


def _starter_price(client) -> str:
    plans = client.get("/api/v1/plans").json()
    return next(p["price_monthly"] for p in plans if p["plan_id"] == "starter")


def test_the_rendered_catalog_is_kept_until_another_process_changes_a_plan(caching, api_client):
    from django.core.cache import caches

    from subscriptions.models import Plan
    from subscriptions.selectors import PLANS_CACHE_KEY, PLANS_RENDERED_CACHE_KEY

    assert _starter_price(api_client) == "29.00"
    # Changed in the database and gone from Redis, but no epoch bump yet: this process's copy.
    Plan.objects.filter(code="starter").update(price_monthly=3100)
    caches["shared"].delete_many([PLANS_CACHE_KEY, PLANS_RENDERED_CACHE_KEY])
    assert _starter_price(api_client) == "29.00"
    change_published_elsewhere()  # what the other process's plan_catalog_invalidate does
    assert _starter_price(api_client) == "31.00"


def test_a_plan_saved_here_shows_at_the_next_request(
    caching, api_client, django_capture_on_commit_callbacks
):
    from subscriptions.models import Plan

    assert _starter_price(api_client) == "29.00"
    with django_capture_on_commit_callbacks(execute=True):
        plan = Plan.objects.get(code="starter")
        plan.price_monthly = 3200
        plan.save()
    assert _starter_price(api_client) == "32.00"


def test_the_current_tenant_answer_follows_the_tenant_and_its_billing_status(
    caching, key_client, tenant, django_capture_on_commit_callbacks
):
    from subscriptions.models import BillingAccount

    assert key_client.get(CURRENT).json()["billing_status"] == "ok"
    with CaptureQueriesContext(connection) as queries:
        assert key_client.get(CURRENT).status_code == 200
    assert len(queries) == 0  # host, key, billing status and the rendered answer: all kept
    with django_capture_on_commit_callbacks(execute=True):
        tenant.legal_name = "Acme Holdings Ltd"
        tenant.save()
    assert key_client.get(CURRENT).json()["legal_name"] == "Acme Holdings Ltd"
    with django_capture_on_commit_callbacks(execute=True):
        BillingAccount.objects.update_or_create(
            tenant=tenant, defaults={"subscription_id": "sub_1", "status": "past_due"}
        )
    answer = key_client.get(CURRENT).json()
    assert answer["billing_status"] == "past_due"
    assert answer["legal_name"] == "Acme Holdings Ltd"


def test_another_tenants_subscription_change_keeps_this_tenants_cached_reads(
    caching, key_client, tenant, other_tenant, django_capture_on_commit_callbacks
):
    """Every Stripe webhook about a subscription saves its tenant's billing account: that drops
    the tenant's own billing status and limits in every process, not every tenant's hosts, keys
    and limits (an empty cache costs each of them its database reads again)."""
    from subscriptions.models import BillingAccount, Plan
    from subscriptions.services.state import account_apply_subscription
    from usage.limits import limits_get

    Plan.objects.filter(code="starter").update(stripe_price_id="price_starter_m")
    account = BillingAccount.objects.create(tenant=other_tenant)
    assert len(public_queries(key_client)) == 2
    assert limits_get(tenant).limit_of("api_calls") == 1000
    with django_capture_on_commit_callbacks(execute=True):
        account_apply_subscription(
            account=account,
            subscription={
                "id": "sub_other",
                "status": "active",
                "items": {"data": [{"price": {"id": "price_starter_m"}}]},
            },
        )
    assert limits_get(other_tenant).plan_code == "starter"
    assert public_queries(key_client) == []
    with CaptureQueriesContext(connection) as queries:
        assert limits_get(tenant).limit_of("api_calls") == 1000
    assert len(queries) == 0


def test_a_subscription_change_drops_that_tenants_cached_limits_in_every_process(
    caching, tenant, django_capture_on_commit_callbacks
):
    from subscriptions.models import BillingAccount, Plan
    from usage.limits import limits_get, limits_key

    assert limits_get(tenant).limit_of("api_calls") == 1000
    Plan.objects.filter(code="free").update(limits={"api_calls": 5})  # no message yet
    assert limits_get(tenant).limit_of("api_calls") == 1000  # this process's copy
    # Another worker applied a subscription change of this tenant and published its key.
    change_published_elsewhere(limits_key(tenant.schema_name).encode())
    assert limits_get(tenant).limit_of("api_calls") == 5
    # Here: the billing account's save drops it once committed (subscriptions.signals).
    starter = Plan.objects.get(code="starter")
    with django_capture_on_commit_callbacks(execute=True):
        BillingAccount.objects.update_or_create(
            tenant=tenant,
            defaults={"subscription_id": "sub_1", "status": "active", "plan": starter},
        )
    assert limits_get(tenant).plan_code == "starter"


def test_cached_limits_last_at_most_their_own_seconds(caching, tenant, monkeypatch):
    """The plan in effect also changes with the clock (a grace period ends) with no message."""
    from subscriptions.models import Plan
    from usage import limits

    clock = [1000.0]
    monkeypatch.setattr(cache.time, "monotonic", lambda: clock[0])
    assert limits.limits_get(tenant).limit_of("api_calls") == 1000
    Plan.objects.filter(code="free").update(limits={"api_calls": 5})
    clock[0] += limits.CACHE_SECONDS - 1
    assert limits.limits_get(tenant).limit_of("api_calls") == 1000
    clock[0] += 2
    assert limits.limits_get(tenant).limit_of("api_calls") == 5


def test_an_unreachable_redis_is_tried_again_less_and_less_often(caching, settings, monkeypatch):
    attempts = []
    subscribe = cache._subscribe
    monkeypatch.setattr(cache, "_subscribe", lambda now: attempts.append(now) or subscribe(now))
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    clock = [0.0]
    monkeypatch.setattr(cache.time, "monotonic", lambda: clock[0])
    for second in range(80):  # one lookup a second
        clock[0] = float(second)
        assert cache.epoch() is None
    # 1, 2, 4, 8 and 16 s after each failure, then every 30 s: not on every lookup.
    assert attempts == [0.0, 1.0, 3.0, 7.0, 15.0, 31.0, 61.0]


def test_a_test_clock_move_drops_that_tenants_cached_limits_at_once(
    caching, tenant, django_capture_on_commit_callbacks
):
    """The tenant's 'now' follows its test clock, and its limits with it (a grace period ends with
    the clock): the move drops the cached entry at once, not after CACHE_SECONDS."""
    from datetime import UTC, datetime

    from billing_project.stripe_gateway.webhooks import StripeEvent
    from subscriptions.handlers import test_clock_moved
    from subscriptions.models import BillingAccount, Plan
    from usage.limits import limits_get

    BillingAccount.objects.create(tenant=tenant, test_clock_id="clock_1")
    assert limits_get(tenant).limit_of("api_calls") == 1000
    Plan.objects.filter(code="free").update(limits={"api_calls": 5})  # no message of its own
    assert limits_get(tenant).limit_of("api_calls") == 1000
    moved_to = datetime(2026, 7, 1, tzinfo=UTC)
    clock = {"id": "clock_1", "object": "test_helpers.test_clock"}
    event = StripeEvent(
        id="evt_1",
        type="test_helpers.test_clock.ready",
        payload={"data": {"object": {**clock, "frozen_time": int(moved_to.timestamp())}}},
        object=clock,
    )
    with django_capture_on_commit_callbacks(execute=True):
        test_clock_moved(event)
    assert BillingAccount.objects.get(tenant=tenant).clock_time == moved_to
    assert limits_get(tenant).limit_of("api_calls") == 5
