"""The public plan catalog: the seed's four plans, money as decimal strings, served from Redis."""

import json
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from subscriptions.models import Plan
from subscriptions.selectors import plan_catalog_invalidate
from tests.conftest import assert_error

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
        "trial_days",
        "trial_without_card",
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


def test_trial_length_and_card_less_trial_in_the_list_and_the_detail(
    api_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        Plan.objects.filter(code="professional").update(trial_days=14, trial_without_card=True)
        plan_catalog_invalidate()
    by_id = {p["plan_id"]: p for p in api_client.get("/api/v1/plans").json()}
    assert (by_id["professional"]["trial_days"], by_id["professional"]["trial_without_card"]) == (
        14,
        True,
    )
    assert (by_id["starter"]["trial_days"], by_id["starter"]["trial_without_card"]) == (0, False)

    detail = api_client.get("/api/v1/plans/professional")
    assert detail.status_code == 200
    assert detail.json() == by_id["professional"]
    assert detail.json()["price_monthly"] == "99.00"


def test_plan_detail_of_an_unknown_hidden_or_retired_plan_is_not_found(
    api_client, django_capture_on_commit_callbacks
):
    from tests.conftest import assert_error

    with django_capture_on_commit_callbacks(execute=True):
        Plan.objects.create(
            code="legacy", name="Legacy", price_monthly=500, price_yearly=5000, is_public=False
        )
        Plan.objects.create(
            code="retired", name="Retired", price_monthly=500, price_yearly=5000, is_active=False
        )
    for plan_id in ("platinum", "legacy", "retired"):
        assert_error(api_client.get(f"/api/v1/plans/{plan_id}"), 404, "not_found")


def test_a_trial_edited_in_the_admin_shows_at_once_despite_the_cached_catalog(
    api_client, finance_admin, stripe_on, django_capture_on_commit_callbacks
):
    starter = Plan.objects.get(code="starter")
    # Both cached forms (the list's bytes, the detail's list) are warm before the edit.
    assert {p["plan_id"]: p for p in api_client.get("/api/v1/plans").json()}["starter"][
        "trial_days"
    ] == 0
    assert api_client.get("/api/v1/plans/starter").json()["trial_days"] == 0
    change = finance_admin.get(f"/admin/subscriptions/plan/{starter.pk}/change/")
    form = {
        key: value
        for key, value in change.context["adminform"].form.initial.items()
        if value is not None
    }
    for key in ("features", "feature_keys", "limits", "hard_limits", "alert_thresholds"):
        form[key] = json.dumps(getattr(starter, key))
    form.update(is_public="on", is_active="on", trial_days="30", trial_without_card="on")
    with django_capture_on_commit_callbacks(execute=True):
        response = finance_admin.post(f"/admin/subscriptions/plan/{starter.pk}/change/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    listed = {p["plan_id"]: p for p in api_client.get("/api/v1/plans").json()}["starter"]
    assert (listed["trial_days"], listed["trial_without_card"]) == (30, True)
    detail = api_client.get("/api/v1/plans/starter").json()
    assert (detail["trial_days"], detail["trial_without_card"]) == (30, True)


def test_the_openapi_schema_documents_the_trial_fields_and_the_detail(db):
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator(urlconf="billing_project.urls").get_schema(request=None, public=True)
    plan = schema["components"]["schemas"]["PlanOutput"]
    assert plan["properties"]["trial_days"]["type"] == "integer"
    assert plan["properties"]["trial_without_card"]["type"] == "boolean"
    assert {"trial_days", "trial_without_card"} <= set(plan["required"])
    detail = schema["paths"]["/api/v1/plans/{plan_id}"]["get"]
    assert detail["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/PlanOutput"
    }
    assert "not_found" in detail["responses"]["404"]["content"]["application/json"]["examples"]
    assert detail.get("security") in (None, [{}], [])


def test_the_usual_catalog_request_answers_as_drf_does(api_client):
    """The usual request is answered before DRF's dispatch (PlanListApi.as_view): same bytes, same
    headers as a request DRF negotiates, and DRF still answers everything else."""
    usual = api_client.get("/api/v1/plans")
    negotiated = api_client.get("/api/v1/plans", HTTP_ACCEPT="text/plain, application/json")
    assert usual.status_code == negotiated.status_code == 200
    assert usual.content == negotiated.content
    for header in ("Content-Type", "Allow", "Vary", "Content-Language", "X-Frame-Options"):
        assert usual.headers.get(header) == negotiated.headers.get(header), header
    assert usual["Allow"] == "GET, HEAD, OPTIONS"
    assert api_client.head("/api/v1/plans").status_code == 200
    assert_error(api_client.post("/api/v1/plans", {}, format="json"), 405, "method_not_allowed")
    assert_error(api_client.get("/api/v1/plans", HTTP_ACCEPT="text/html"), 406, "not_acceptable")
    assert api_client.options("/api/v1/plans").json()["name"] == "Plan List Api"
