"""Cards: attach (declines are 402 with the decline code), list, default, detach, setup intents."""

import pytest

from tests.conftest import assert_error
from tests.subscriptions.conftest import subscribe

pytestmark = pytest.mark.django_db


def test_attach_list_default_and_detach(catalog, owner_client):
    first = owner_client.post(
        "/api/v1/payment-methods", {"type": "card", "token": "pm_card_visa"}, format="json"
    )
    assert first.status_code == 201, first.content
    first = first.json()
    assert (
        first["payment_method_id"].startswith("pm_")
        and first["brand"] == "visa"
        and first["last4"] == "4242"
    )
    assert first["is_default"] is True  # the first card pays
    second = owner_client.post(
        "/api/v1/payment-methods", {"token": "pm_card_mastercard"}, format="json"
    ).json()
    assert second["is_default"] is False
    listed = owner_client.get("/api/v1/payment-methods").json()
    assert {p["payment_method_id"] for p in listed} == {
        first["payment_method_id"],
        second["payment_method_id"],
    }
    made = owner_client.post(f"/api/v1/payment-methods/{second['payment_method_id']}/default")
    assert made.status_code == 200 and made.json()["is_default"] is True
    assert (
        owner_client.delete(f"/api/v1/payment-methods/{first['payment_method_id']}").status_code
        == 204
    )
    assert [p["payment_method_id"] for p in owner_client.get("/api/v1/payment-methods").json()] == [
        second["payment_method_id"]
    ]


def test_declined_card_is_402_with_the_decline_code(catalog, owner_client):
    error = assert_error(
        owner_client.post(
            "/api/v1/payment-methods", {"token": "pm_card_chargeDeclined"}, format="json"
        ),
        402,
        "card_declined",
    )
    assert error["detail"]["decline_code"] == "generic_decline"


def test_default_card_of_a_live_paid_subscription_cannot_be_removed(catalog, owner_client):
    subscribe(owner_client, plan_id="starter", payment_method="pm_card_visa")
    card = owner_client.get("/api/v1/payment-methods").json()[0]
    assert card["is_default"]
    assert_error(
        owner_client.delete(f"/api/v1/payment-methods/{card['payment_method_id']}"),
        409,
        "payment_method_in_use",
    )


def test_another_tenants_card_is_404_and_viewer_cannot_attach(
    catalog, owner_client, other_client, viewer_client
):
    theirs = other_client.post(
        "/api/v1/payment-methods", {"token": "pm_card_visa"}, format="json"
    ).json()
    assert_error(
        owner_client.delete(f"/api/v1/payment-methods/{theirs['payment_method_id']}"),
        404,
        "not_found",
    )
    assert_error(
        owner_client.post(f"/api/v1/payment-methods/{theirs['payment_method_id']}/default"),
        404,
        "not_found",
    )
    assert_error(
        viewer_client.post("/api/v1/payment-methods", {"token": "pm_card_visa"}, format="json"),
        403,
        "permission_denied",
    )


def test_setup_intent_gives_a_client_secret(catalog, owner_client):
    response = owner_client.post("/api/v1/payment-methods/setup-intent")
    assert response.status_code == 201 and "_secret_" in response.json()["client_secret"]
