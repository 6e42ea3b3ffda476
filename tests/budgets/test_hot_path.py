"""The hard cap on the ingest hot path: answered from Redis without a database query once cached,
from the database (one indexed row) when Redis is down, and the state follows a change at once."""

import time
from datetime import UTC, datetime, timedelta

import pytest
import redis

from billing_project.errors import BudgetExceeded
from budgets import cache, selectors, services
from budgets.models import Budget

pytestmark = pytest.mark.django_db


def test_the_guard_answers_from_redis_without_a_query(
    tenant, other_tenant, django_assert_num_queries
):
    later = datetime.now(UTC) + timedelta(days=3)
    Budget.objects.create(
        tenant=tenant, amount=100, currency="usd", hard_cap=True, capped_until=later
    )
    with pytest.raises(BudgetExceeded):
        selectors.budget_guard(tenant=tenant)  # loads the state, then keeps it in Redis
    with django_assert_num_queries(0), pytest.raises(BudgetExceeded):
        selectors.budget_guard(tenant=tenant)
    # A tenant without a budget: no query once its "none" is cached either.
    selectors.budget_guard(tenant=other_tenant)
    with django_assert_num_queries(0):
        started = time.perf_counter()
        for _ in range(1000):
            selectors.budget_guard(tenant=other_tenant)
        per_call = (time.perf_counter() - started) / 1000
    print(f"\nbudget_guard from Redis: {per_call * 1e6:.0f} us per call")  # noqa: T201 -- the figure


def test_a_redis_outage_reads_one_row(tenant, monkeypatch, django_assert_max_num_queries):
    class Down:
        def __getattr__(self, name):
            def fail(*args, **kwargs):
                raise redis.ConnectionError("Redis is down")

            return fail

    monkeypatch.setattr("budgets.cache.get_redis", lambda: Down())
    with django_assert_max_num_queries(1):
        selectors.budget_guard(tenant=tenant)  # no budget: allowed, one query
    Budget.objects.create(
        tenant=tenant,
        amount=100,
        currency="usd",
        hard_cap=True,
        capped_until=datetime.now(UTC) + timedelta(days=1),
    )
    with pytest.raises(BudgetExceeded):
        selectors.budget_guard(tenant=tenant)


def test_a_change_drops_the_cached_state(tenant, django_capture_on_commit_callbacks):
    Budget.objects.create(
        tenant=tenant,
        amount=100,
        currency="usd",
        hard_cap=True,
        capped_until=datetime.now(UTC) + timedelta(days=1),
    )
    assert selectors.budget_capped(tenant=tenant)
    with django_capture_on_commit_callbacks(execute=True):
        services.budget_set(
            tenant=tenant, amount=100, currency="usd", hard_cap=False, actor="owner@acme.test"
        )
    assert not selectors.budget_capped(tenant=tenant)
    with django_capture_on_commit_callbacks(execute=True):
        services.budget_delete(tenant=tenant, actor="owner@acme.test")
    assert selectors.budget_state(tenant=tenant) == "none"


def test_ingest_schedules_the_check_once_per_window_and_a_change_rearms_it(
    tenant, ingest_client, monkeypatch, django_capture_on_commit_callbacks
):
    from budgets import tasks
    from tests.usage.conftest import event

    scheduled = []  # the ingest's scheduled checks (a change's own check is sent at once, by delay)
    monkeypatch.setattr(
        tasks.budget_check,
        "apply_async",
        lambda *args, **kwargs: scheduled.append(kwargs) if "countdown" in kwargs else None,
    )

    def use():
        with django_capture_on_commit_callbacks(execute=True):
            response = ingest_client.post(
                "/api/v1/usage", event(quantity="1", unit="requests"), format="json"
            )
        assert response.status_code == 201

    use()  # no budget yet: the window's claim is taken, nothing to check
    assert scheduled == []
    Budget.objects.create(tenant=tenant, amount=100, currency="usd")
    use()  # same window: rides on the first ingest's claim
    assert scheduled == []
    with django_capture_on_commit_callbacks(execute=True):
        services.budget_set(
            tenant=tenant, amount=200, currency="usd", hard_cap=False, actor="owner@acme.test"
        )
    use()  # the change dropped the claim: this ingest schedules the check
    use()
    assert len(scheduled) == 1


def test_each_process_keeps_an_open_state_until_a_change_publishes_it(
    tenant, monkeypatch, django_assert_num_queries, django_capture_on_commit_callbacks
):
    from tenants import cache as process_cache

    monkeypatch.setattr(process_cache, "_cacheable", lambda: True)
    process_cache.restart()
    Budget.objects.create(tenant=tenant, amount=100, currency="usd", hard_cap=True)
    assert selectors.budget_state(tenant=tenant) == "open"
    redis_reads = []
    monkeypatch.setattr(
        "budgets.cache.state_cached",
        lambda schema: redis_reads.append(schema) or (True, None),
    )
    with django_assert_num_queries(0):
        assert selectors.budget_state(tenant=tenant) == "open"  # neither Redis nor the database
    assert redis_reads == []
    # The check finds the budget spent: capped, published; every process reads it again.
    with django_capture_on_commit_callbacks(execute=True):
        Budget.objects.filter(tenant=tenant).update(capped_until=datetime.now(UTC) + timedelta(1))
        cache.state_cache_forget(tenant.schema_name)
    assert selectors.budget_state(tenant=tenant) == "capped"
    assert selectors.budget_state(tenant=tenant) == "capped"
    assert len(redis_reads) == 2  # "capped" is not kept in the process: it ends with the period
    process_cache.restart()
