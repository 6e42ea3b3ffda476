"""Payment methods beyond cards through the API: SEPA Direct Debit (IBAN, mandate) and PayPal
(approval page), with the labels a person recognises; cards keep working as before."""

import urllib.parse
import urllib.request

import pytest

from tests.conftest import assert_error

pytestmark = pytest.mark.django_db

SEPA_OK = "DE89 3704 0044 0532 0130 00"


def add(client, **body):
    return client.post("/api/v1/payment-methods", body, format="json")


def test_cards_keep_working_with_a_label(catalog, owner_client):
    card = add(owner_client, type="card", token="pm_card_visa")
    assert card.status_code == 201, card.content
    card = card.json()
    assert card["label"] == "Visa •••• 4242, 12/34"
    assert (card["type"], card["brand"], card["last4"], card["is_default"]) == (
        "card",
        "visa",
        "4242",
        True,
    )
    assert card["status"] == "active" and card["approval_url"] is None


def test_a_sepa_account_is_added_with_its_mandate_and_listed(euro_plan, owner_client, stripe_on):
    response = add(owner_client, type="sepa_debit", iban=SEPA_OK, account_holder_name="Acme GmbH")
    assert response.status_code == 201, response.content
    sepa = response.json()
    assert sepa["type"] == "sepa_debit"
    assert sepa["label"] == "SEPA DE89 •••• 3000"
    assert (sepa["last4"], sepa["country"], sepa["is_default"]) == ("3000", "DE", True)

    card = add(owner_client, type="card", token="pm_card_visa").json()
    listed = {p["payment_method_id"]: p for p in owner_client.get("/api/v1/payment-methods").json()}
    assert listed[sepa["payment_method_id"]]["is_default"] is True
    assert listed[card["payment_method_id"]]["is_default"] is False

    # The mandate Stripe keeps carries the customer's acceptance (the API caller's address).
    from billing_project.stripe_gateway.client import get_client

    setup = get_client().v1.setup_intents.list(params={"payment_method": sepa["payment_method_id"]})
    mandate = get_client().v1.mandates.retrieve(setup.data[0].mandate)
    assert mandate.customer_acceptance.type == "online"
    assert mandate.customer_acceptance.online.ip_address.startswith("10.")  # the test client's

    made = owner_client.post(f"/api/v1/payment-methods/{card['payment_method_id']}/default")
    assert made.status_code == 200 and made.json()["label"] == "Visa •••• 4242, 12/34"
    removed = owner_client.delete(f"/api/v1/payment-methods/{sepa['payment_method_id']}")
    assert removed.status_code == 204
    assert [p["type"] for p in owner_client.get("/api/v1/payment-methods").json()] == ["card"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "sepa_debit", "iban": "DE00 3704 0044 0532 0130 00"}, "iban"),
        ({"type": "sepa_debit", "iban": "not an iban"}, "iban"),
        ({"type": "sepa_debit"}, "iban"),
        ({"type": "card"}, "token"),
        ({"type": "paypal"}, "return_url"),
        ({"type": "paypal", "return_url": "javascript:alert(1)"}, "return_url"),
        ({"type": "card", "token": "pm_card_visa", "iban": "DE89370400440532013000"}, "iban"),
        ({"type": "bitcoin", "token": "x"}, "type"),
    ],
)
def test_bad_input_is_a_400_with_a_field_error(euro_plan, owner_client, body, field):
    error = assert_error(add(owner_client, **body), 400, "invalid_request")
    assert field in error["detail"], error


def test_a_viewer_cannot_add_a_payment_method(catalog, viewer_client):
    assert add(viewer_client, type="sepa_debit", iban=SEPA_OK).status_code == 403


def _approve(url, action="approve", email="jenny.rosen@example.com"):
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    request = urllib.request.Request(
        url, data=urllib.parse.urlencode({"action": action, "email": email}).encode()
    )
    try:
        urllib.request.build_opener(NoRedirect).open(request)
    except urllib.error.HTTPError as exc:
        return exc.headers["Location"]
    raise AssertionError("no redirect")


def test_paypal_is_listed_once_the_payer_approves(catalog, owner_client):
    started = add(owner_client, type="paypal", return_url="https://app.example.com/back")
    assert started.status_code == 201, started.content
    started = started.json()
    assert started["status"] == "requires_approval" and started["type"] == "paypal"
    assert "/_emulator/paypal/" in started["approval_url"]
    assert owner_client.get("/api/v1/payment-methods").json() == []  # not before approval

    back = _approve(started["approval_url"])
    assert back.startswith("https://app.example.com/back?") and "redirect_status=succeeded" in back
    listed = owner_client.get("/api/v1/payment-methods").json()
    assert [(p["type"], p["label"], p["email"]) for p in listed] == [
        ("paypal", "PayPal j•••@example.com", "jenny.rosen@example.com")
    ]
