"""GET /api/v1/analytics/*: platform staff only, money as decimal strings, bad input 400."""

import pytest

from tests.conftest import assert_error

from .conftest import subscribe

PATHS = ["mrr", "movements", "churn", "receivables"]


def test_mrr_movements_and_churn_of_a_monthly_and_a_yearly_subscriber(
    world, owner_client, other_client, finance_client
):
    subscribe(owner_client, plan_id="starter", payment_method="pm_card_visa")
    subscribe(
        other_client, plan_id="starter", billing_cycle="yearly", payment_method="pm_card_visa"
    )
    world.hooks.deliver()
    query = "?from=2026-01-01&to=2026-02-28&currency=usd&interval=month"
    mrr = finance_client.get(f"/api/v1/analytics/mrr{query}")
    assert mrr.status_code == 200, mrr.content
    assert mrr.json()[0] == {
        "month": "2026-01",
        "currency": "usd",
        "mrr": "53.17",  # 29.00 + 290.00 / 12 (24.17)
        "arr": "638.04",
        "paying_accounts": 2,
        "arpa": "26.59",
        "usage_revenue": "0.00",
        "subscriptions": {"active": 2, "trialing": 0, "past_due": 0, "canceled": 0},
    }
    assert [row["month"] for row in mrr.json()] == ["2026-01", "2026-02"]
    movements = finance_client.get(f"/api/v1/analytics/movements{query}").json()
    assert movements[0]["new"] == "53.17" and movements[0]["counts"]["new"] == 2
    assert movements[1]["mrr_start"] == "53.17" and movements[1]["net"] == "0.00"
    churn = finance_client.get(f"/api/v1/analytics/churn{query}").json()
    assert churn[1]["logo_churn_rate"] == "0.00" and churn[1]["net_revenue_retention"] == "100.00"
    assert churn[0]["logo_churn_rate"] is None  # nobody paid at the start of January
    assert churn[0]["cash_collected"] == "319.00"  # 29.00 + 290.00 paid on Jan 15
    receivables = finance_client.get(f"/api/v1/analytics/receivables{query}")
    assert receivables.status_code == 200 and receivables.json() == []


@pytest.mark.parametrize("path", PATHS)
def test_only_platform_staff_read_analytics(db, path, owner_client, client_for, support_staff):
    assert_error(owner_client.get(f"/api/v1/analytics/{path}"), 403, "permission_denied")
    assert client_for(support_staff).get(f"/api/v1/analytics/{path}").status_code == 200


@pytest.mark.parametrize(
    "query",
    [
        "from=2026-13-01",
        "from=2026-03-01&to=2026-01-01",
        "from=2000-01-01&to=2026-01-01",
        "currency=USD",
        "interval=week",
        "colour=blue",
    ],
)
def test_bad_queries_are_400(db, finance_client, query):
    assert_error(finance_client.get(f"/api/v1/analytics/mrr?{query}"), 400, "invalid_request")


def test_documented_in_openapi(db, api_client):
    schema = api_client.get("/api/schema/?format=json").json()
    for path in PATHS:
        operation = schema["paths"][f"/api/v1/analytics/{path}"]["get"]
        assert {p["name"] for p in operation["parameters"]} >= {
            "from",
            "to",
            "currency",
            "interval",
        }
