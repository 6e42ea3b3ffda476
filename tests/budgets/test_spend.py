"""Spend, projection, alerts and the hard cap end to end: a Starter subscription (29.00 a month,
10,000 api_calls included, 2.00 per 1,000 above) through the Stripe emulator on a test clock, usage
through the API, the budget's check as the worker runs it. No figure depends on the calendar day:
the period and the elapsed time are read from the subscription and the tenant's clock."""

from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
import redis
from django_tenants.utils import tenant_context

from budgets import services
from budgets.models import Budget, BudgetAlert
from subscriptions.models import BillingAccount
from subscriptions.selectors import tenant_now
from subscriptions.services import clocks
from tests.budgets.conftest import put_budget
from tests.conftest import assert_error
from tests.subscriptions.conftest import subscribe
from tests.usage.conftest import event

pytestmark = pytest.mark.django_db


def _use(client, quantity, on_commit):
    with on_commit(execute=True):
        response = client.post(
            "/api/v1/usage", event(quantity=str(quantity), unit="requests"), format="json"
        )
    return response


def _starter(owner_client, on_commit):
    with on_commit(execute=True):
        subscribe(owner_client, plan_id="starter", payment_method="pm_card_visa")


def test_spent_is_the_subscription_plus_usage_and_projected_its_linear_forecast(
    catalog, owner_client, ingest_client, tenant, django_capture_on_commit_callbacks
):
    _starter(owner_client, django_capture_on_commit_callbacks)
    assert put_budget(owner_client, "100.00").status_code == 200
    body = owner_client.get("/api/v1/budget").json()
    # Nothing used yet: the subscription's 29.00 is all there is, spent and projected.
    assert (body["spent"], body["projected"]) == ("29.00", "29.00")

    assert _use(ingest_client, 12_500, django_capture_on_commit_callbacks).status_code == 201
    clocks.test_clock_advance(tenant=tenant, days=10)  # a third of the way, no renewal

    body = owner_client.get("/api/v1/budget").json()
    account = BillingAccount.objects.get(tenant=tenant)
    assert body["period_start"] == account.current_period_start.isoformat().replace("+00:00", "Z")
    assert body["period_end"] == account.current_period_end.isoformat().replace("+00:00", "Z")
    # 2,500 calls above the 10,000 included: 5.00 of usage so far.
    assert body["spent"] == "34.00"
    # 12,500 calls in 10 days -> 12,500 * period / 10 days at the period's end, priced the same way.
    period = account.current_period_end - account.current_period_start
    elapsed = tenant_now(tenant) - account.current_period_start
    assert elapsed == timedelta(days=10)
    forecast = (
        Decimal(12_500)
        * Decimal(period // timedelta(microseconds=1))
        / Decimal(elapsed // timedelta(microseconds=1))
    )
    usage = ((forecast - 10_000) * 200 / 1000).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    assert body["projected"] == f"{(2900 + usage) / 100:.2f}"
    # A 28- to 31-day period: 35,000 to 38,750 calls, 50.00 to 57.50 above the allowance.
    assert Decimal("79.00") <= Decimal(body["projected"]) <= Decimal("86.50")


def test_alerts_fire_once_each_as_spend_crosses_50_80_and_100_percent(
    catalog, owner_client, ingest_client, tenant, django_capture_on_commit_callbacks, mailoutbox
):
    from notifications.models import BillingEvent
    from webhooks.models import Event

    on_commit = django_capture_on_commit_callbacks
    _starter(owner_client, on_commit)
    with on_commit(execute=True):
        assert put_budget(owner_client, "40.00").status_code == 200
    # Setting it ran the check (after commit): 29.00 of 40.00 is 72.5%: the 50% alert.
    assert list(BudgetAlert.objects.filter(tenant=tenant).values_list("threshold", flat=True)) == [
        50
    ]
    with on_commit(execute=True):
        assert services.budget_check(tenant=tenant) == []  # once

    _use(ingest_client, 12_500, on_commit)  # + 5.00 -> 34.00: 85%
    with on_commit(execute=True):
        services.budget_check(tenant=tenant)
        assert services.budget_check(tenant=tenant) == []
    _use(ingest_client, 3_000, on_commit)  # + 6.00 -> 40.00: 100%
    with on_commit(execute=True):
        services.budget_check(tenant=tenant)
        assert services.budget_check(tenant=tenant) == []

    alerts = BudgetAlert.objects.filter(tenant=tenant).order_by("threshold")
    assert [(a.threshold, a.spent) for a in alerts] == [(50, 2900), (80, 3400), (100, 4000)]
    body = owner_client.get("/api/v1/budget").json()
    assert [(a["threshold"], a["spent"]) for a in body["alerts_sent"]] == [
        (50, "29.00"),
        (80, "34.00"),
        (100, "40.00"),
    ]
    with tenant_context(tenant):
        events = BillingEvent.objects.filter(kind="budget_threshold_reached").order_by("pk")
        assert [e.data["threshold"] for e in events] == [50, 80, 100]
        hooks = Event.objects.filter(type="budget.threshold_reached").order_by("pk")
        objects = [e.payload["data"]["object"] for e in hooks]
    assert [(o["threshold"], o["amount"], o["spent"], o["currency"]) for o in objects] == [
        (50, "40.00", "29.00", "usd"),
        (80, "40.00", "34.00", "usd"),
        (100, "40.00", "40.00", "usd"),
    ]
    assert objects[0]["period_start"] == body["period_start"]
    # The billing contacts got one email per threshold.
    to_owner = [
        m.subject for m in mailoutbox if "spend budget" in m.subject and m.to == ["owner@acme.test"]
    ]
    assert len(to_owner) == 3 and "You reached 80% of your spend budget" in to_owner[1]


def test_hard_cap_denies_the_next_event_and_the_entitlement_check_until_lifted(
    catalog, owner_client, ingest_client, tenant, django_capture_on_commit_callbacks
):
    on_commit = django_capture_on_commit_callbacks
    _starter(owner_client, on_commit)
    with on_commit(execute=True):
        assert put_budget(owner_client, "30.00", hard_cap=True).status_code == 200
    assert ingest_client.get("/api/v1/entitlements/check?feature=sso").status_code == 200

    # 10,500 calls: 1.00 above the allowance -> 30.00 spent. The ingest's own check caps.
    assert _use(ingest_client, 10_500, on_commit).status_code == 201
    assert Budget.objects.get(tenant=tenant).capped_until is not None

    error = assert_error(_use(ingest_client, 1, on_commit), 402, "budget_exceeded")
    assert "budget" in error["message"]
    batch = ingest_client.post("/api/v1/usage/batch", {"events": [event()]}, format="json")
    assert_error(batch, 402, "budget_exceeded")
    assert_error(
        ingest_client.get("/api/v1/entitlements/check?feature=sso"), 402, "budget_exceeded"
    )
    assert_error(
        ingest_client.get("/api/v1/entitlements/check?resource=api_calls"), 402, "budget_exceeded"
    )
    assert owner_client.get("/api/v1/budget").json()["capped"] is True

    # The cap off: the next event goes through at once.
    with on_commit(execute=True):
        assert put_budget(owner_client, "30.00", hard_cap=False).status_code == 200
    assert _use(ingest_client, 1, on_commit).status_code == 201
    assert ingest_client.get("/api/v1/entitlements/check?feature=sso").status_code == 200

    # Capped again, then a higher budget lifts it too; removing the budget as well.
    with on_commit(execute=True):
        put_budget(owner_client, "30.00", hard_cap=True)
    assert_error(_use(ingest_client, 1, on_commit), 402, "budget_exceeded")
    with on_commit(execute=True):
        put_budget(owner_client, "60.00", hard_cap=True)
    assert _use(ingest_client, 1, on_commit).status_code == 201
    with on_commit(execute=True):
        put_budget(owner_client, "30.00", hard_cap=True)
    assert_error(_use(ingest_client, 1, on_commit), 402, "budget_exceeded")
    with on_commit(execute=True):
        assert owner_client.delete("/api/v1/budget").status_code == 204
    assert _use(ingest_client, 1, on_commit).status_code == 201


def test_a_redis_outage_reads_the_cap_from_the_database(
    catalog, owner_client, ingest_client, tenant, django_capture_on_commit_callbacks, monkeypatch
):
    on_commit = django_capture_on_commit_callbacks
    _starter(owner_client, on_commit)
    with on_commit(execute=True):
        put_budget(owner_client, "29.00", hard_cap=True)  # the subscription alone reaches it

    class Down:
        def __getattr__(self, name):
            def fail(*args, **kwargs):
                raise redis.ConnectionError("Redis is down")

            return fail

    monkeypatch.setattr("budgets.cache.get_redis", lambda: Down())
    assert_error(_use(ingest_client, 1, on_commit), 402, "budget_exceeded")
    assert_error(
        ingest_client.get("/api/v1/entitlements/check?feature=sso"), 402, "budget_exceeded"
    )
    with on_commit(execute=True):
        put_budget(owner_client, "500.00", hard_cap=True)
    assert _use(ingest_client, 1, on_commit).status_code == 201


def test_the_next_period_lifts_the_cap(
    catalog, hooks, owner_client, ingest_client, tenant, django_capture_on_commit_callbacks
):
    on_commit = django_capture_on_commit_callbacks
    _starter(owner_client, on_commit)
    with on_commit(execute=True):
        put_budget(owner_client, "29.00", hard_cap=True)
    assert_error(_use(ingest_client, 1, on_commit), 402, "budget_exceeded")
    capped_until = Budget.objects.get(tenant=tenant).capped_until
    assert capped_until == BillingAccount.objects.get(tenant=tenant).current_period_end

    hooks.deliver()
    clocks.test_clock_advance(tenant=tenant, days=32)  # the renewal: a new period
    hooks.deliver()
    from budgets import cache

    cache.state_cache_forget(tenant.schema_name)  # as its copy expires within a minute
    assert _use(ingest_client, 1, on_commit).status_code == 201
    # The periodic check of the new period: 29.00 again, capped again until its end.
    with on_commit(execute=True):
        services.budget_check(tenant=tenant)
    assert Budget.objects.get(tenant=tenant).capped_until > capped_until
