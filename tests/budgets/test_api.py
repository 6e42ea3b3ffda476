"""GET/PUT/DELETE /api/v1/budget: the round trip, validation with per-field detail, roles, audit,
and tenant isolation (another tenant's budget is never visible nor removable)."""

import pytest

from budgets.models import Budget
from tests.budgets.conftest import put_budget
from tests.conftest import assert_error

pytestmark = pytest.mark.django_db


def test_no_budget_is_a_404_then_set_read_change_and_remove(
    owner_client, viewer_client, tenant, django_capture_on_commit_callbacks
):
    from tenants.models import AuditEvent

    assert_error(owner_client.get("/api/v1/budget"), 404, "budget_not_set")

    with django_capture_on_commit_callbacks(execute=True):
        response = put_budget(owner_client, "250.00")
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {
        "amount",
        "currency",
        "hard_cap",
        "capped",
        "spent",
        "projected",
        "period_start",
        "period_end",
        "alerts_sent",
    }
    assert (body["amount"], body["currency"], body["hard_cap"], body["capped"]) == (
        "250.00",
        "usd",
        False,
        False,
    )
    # No subscription, no usage: nothing spent, in the calendar month of the tenant's clock.
    assert (body["spent"], body["projected"], body["alerts_sent"]) == ("0.00", "0.00", [])
    assert body["period_start"].endswith("Z") and body["period_start"] < body["period_end"]
    assert viewer_client.get("/api/v1/budget").json() == body  # every role reads

    changed = put_budget(owner_client, "300.50", hard_cap=True)
    assert changed.status_code == 200
    assert (changed.json()["amount"], changed.json()["hard_cap"]) == ("300.50", True)
    assert Budget.objects.get(tenant=tenant).amount == 30050
    audits = AuditEvent.objects.filter(tenant=tenant, action="budgets.set").order_by("pk")
    assert [(a.before, a.after) for a in audits] == [
        (None, {"amount": 25000, "currency": "usd", "hard_cap": False}),
        (
            {"amount": 25000, "currency": "usd", "hard_cap": False},
            {"amount": 30050, "currency": "usd", "hard_cap": True},
        ),
    ]

    assert owner_client.delete("/api/v1/budget").status_code == 204
    assert_error(owner_client.get("/api/v1/budget"), 404, "budget_not_set")
    assert_error(owner_client.delete("/api/v1/budget"), 404, "budget_not_set")
    assert AuditEvent.objects.filter(tenant=tenant, action="budgets.deleted").count() == 1


@pytest.mark.parametrize(
    "body, field",
    [
        ({"amount": 100, "currency": "usd", "hard_cap": False}, "amount"),  # a JSON number
        ({"amount": "0", "currency": "usd", "hard_cap": False}, "amount"),
        ({"amount": "-5.00", "currency": "usd", "hard_cap": False}, "amount"),
        ({"amount": "1.005", "currency": "usd", "hard_cap": False}, "amount"),
        ({"amount": "12", "currency": "jpy", "hard_cap": False, "x": 1}, "x"),
        ({"amount": "10.00", "currency": "USD", "hard_cap": False}, "currency"),
        ({"amount": "10.00", "currency": "usd"}, "hard_cap"),
        ({"amount": "10.00", "currency": "usd", "hard_cap": "maybe"}, "hard_cap"),
        ({"currency": "usd", "hard_cap": True}, "amount"),
    ],
)
def test_invalid_budgets_are_400_with_the_field(owner_client, tenant, body, field):
    error = assert_error(
        owner_client.put("/api/v1/budget", body, format="json"), 400, "invalid_request"
    )
    assert field in error["detail"], error
    assert not Budget.objects.filter(tenant=tenant).exists()


def test_jpy_has_no_decimals(owner_client):
    assert_error(put_budget(owner_client, "10.5", currency="jpy"), 400, "invalid_request")
    response = put_budget(owner_client, "50000", currency="jpy")
    assert response.status_code == 200 and response.json()["amount"] == "50000"


def test_only_billing_roles_write(viewer_client, billing_admin_client, owner_client):
    assert_error(put_budget(viewer_client), 403, "permission_denied")
    assert put_budget(billing_admin_client, "80.00").status_code == 200
    assert_error(viewer_client.delete("/api/v1/budget"), 403, "permission_denied")
    assert owner_client.get("/api/v1/budget").json()["amount"] == "80.00"


@pytest.fixture
def billing_admin_client(client_for, billing_admin):
    return client_for(billing_admin)


def test_another_tenants_budget_is_never_visible(
    owner_client, client_for, other_owner, tenant, other_tenant
):
    globex = client_for(other_owner)
    assert put_budget(owner_client, "100.00", hard_cap=True).status_code == 200
    assert_error(globex.get("/api/v1/budget"), 404, "budget_not_set")
    assert_error(globex.delete("/api/v1/budget"), 404, "budget_not_set")
    assert put_budget(globex, "7.00").status_code == 200
    assert owner_client.get("/api/v1/budget").json()["amount"] == "100.00"
    assert globex.get("/api/v1/budget").json()["amount"] == "7.00"
    assert Budget.objects.get(tenant=tenant).amount == 10000
    assert Budget.objects.get(tenant=other_tenant).amount == 700
    # A tenant credential naming another tenant is refused (API.md).
    assert_error(
        owner_client.get("/api/v1/budget", HTTP_X_TENANT_ID="globex"), 403, "permission_denied"
    )
