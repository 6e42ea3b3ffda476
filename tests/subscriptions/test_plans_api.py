"""The public plan catalog: the seed's four plans, money as decimal strings, served from Redis."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from subscriptions.models import Plan
from subscriptions.selectors import plan_catalog_invalidate

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_catalog_cache():
    plan_catalog_invalidate()
    yield
    plan_catalog_invalidate()


def test_four_seed_plans_ordered_by_price(api_client):
    plans = api_client.get("/api/v1/plans").json()
    assert [p["plan_id"] for p in plans] == ["free", "starter", "professional", "enterprise"]
    by_id = {p["plan_id"]: p for p in plans}
    assert (by_id["starter"]["price_monthly"], by_id["starter"]["price_yearly"]) == (
        "29.00",
        "290.00",
    )
    assert by_id["free"]["price_monthly"] == "0.00"
    assert by_id["professional"]["price_monthly"] == "99.00"
    assert by_id["enterprise"]["price_yearly"] == "2990.00"
    assert by_id["free"]["limits"]["api_calls"] == 1000
    assert by_id["starter"]["limits"] == {"api_calls": 10000, "storage_gb": 50, "users": 5}
    assert by_id["enterprise"]["limits"]["api_calls"] == 1_000_000
    assert by_id["enterprise"]["limits"]["users"] is None
    assert by_id["starter"]["features"] == ["All Free", "Email support"]
    assert set(by_id["starter"]) == {
        "plan_id",
        "name",
        "description",
        "price_monthly",
        "price_yearly",
        "currency",
        "features",
        "limits",
        "hard_limits",
        "overage",
        "stripe_price_id",
        "stripe_price_id_yearly",
    }
    # Free denies beyond its limits; starter bills $2.00 per 1,000 api_calls above its limit.
    assert sorted(by_id["free"]["hard_limits"]) == ["api_calls", "storage_gb", "users"]
    assert by_id["free"]["overage"] is None
    assert by_id["starter"]["hard_limits"] == []
    assert by_id["starter"]["overage"] == {
        "resource_type": "api_calls",
        "unit_amount": "2.00",
        "block_size": 1000,
        "currency": "usd",
    }
    for plan in plans:
        assert isinstance(plan["price_monthly"], str)
        Decimal(plan["price_monthly"])


def test_plans_also_answer_with_a_token(owner_client):
    assert len(owner_client.get("/api/v1/plans").json()) == 4


def test_second_read_comes_from_the_cache_and_a_change_invalidates_it(
    api_client, django_capture_on_commit_callbacks
):
    api_client.get("/api/v1/plans")
    with CaptureQueriesContext(connection) as queries:
        api_client.get("/api/v1/plans")
    assert [q for q in queries.captured_queries if "subscriptions_plan" in q["sql"]] == []
    with django_capture_on_commit_callbacks(execute=True):
        Plan.objects.filter(code="starter").update(price_monthly=3900)
        Plan.objects.get(code="starter").save()
    assert {p["plan_id"]: p for p in api_client.get("/api/v1/plans").json()}["starter"][
        "price_monthly"
    ] == "39.00"


def test_hidden_and_inactive_plans_are_not_listed(api_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        Plan.objects.create(
            code="legacy", name="Legacy", price_monthly=500, price_yearly=5000, is_public=False
        )
    assert "legacy" not in [p["plan_id"] for p in api_client.get("/api/v1/plans").json()]
