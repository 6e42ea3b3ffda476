"""The conventions every endpoint shares: one error shape, JSON 404s, no 5xx for bad input."""

from decimal import Decimal

import pytest

from billing_project import money
from billing_project.settings import _database_from_url
from tests.conftest import assert_error

pytestmark = pytest.mark.django_db


def test_unknown_api_path_is_a_json_404(api_client):
    assert_error(api_client.get("/api/v1/no-such-thing"), 404, "not_found")


def test_wrong_method_is_405_in_the_error_shape(api_client):
    assert_error(api_client.delete("/api/v1/plans"), 405, "method_not_allowed")


def test_malformed_json_is_400(api_client):
    response = api_client.post("/api/v1/auth/login", data="{not json", content_type="application/json")
    assert_error(response, 400, "invalid_request")


def test_non_object_body_is_400(api_client):
    assert_error(api_client.post("/api/v1/auth/login", [1, 2], format="json"), 400, "invalid_request")


def test_form_encoded_body_is_415(api_client):
    response = api_client.post("/api/v1/auth/login", {"email": "a@b.c", "password": "x"})
    assert_error(response, 415, "unsupported_media_type")


def test_unauthenticated_is_401_with_www_authenticate(api_client):
    response = api_client.get("/api/v1/tenants/current")
    assert_error(response, 401, "authentication_failed")
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("minor, currency, major", [
    (2900, "usd", "29.00"), (0, "usd", "0.00"), (5, "eur", "0.05"), (2900, "jpy", "2900"), (1234, "kwd", "1.234"),
    (-150, "usd", "-1.50"),
])
def test_money_round_trips_between_minor_units_and_decimal_strings(minor, currency, major):
    assert money.to_major(minor, currency) == major
    assert money.to_minor(major, currency) == minor


def test_money_rounds_half_up_and_rejects_floats_and_nan():
    assert money.to_minor("0.005", "usd") == 1
    assert money.to_minor(Decimal("2.675"), "usd") == 268
    for bad in (29.0, "NaN", "Infinity", "abc"):
        with pytest.raises(money.MoneyError):
            money.to_minor(bad, "usd")


def test_database_url_accepts_the_seeds_driver_suffix_and_pool_size(monkeypatch):
    monkeypatch.setenv("DB_POOL_SIZE", "20")
    monkeypatch.setenv("DB_MAX_OVERFLOW", "30")
    config = _database_from_url("postgresql+asyncpg://billing_user:pw@postgres:5432/billing")
    assert config["ENGINE"] == "django_tenants.postgresql_backend"
    assert (config["HOST"], config["PORT"], config["NAME"], config["USER"]) == ("postgres", 5432, "billing", "billing_user")
    assert config["OPTIONS"]["pool"] == {"min_size": 20, "max_size": 50}
    monkeypatch.delenv("DB_POOL_SIZE")
    assert "pool" not in _database_from_url("postgresql://u@h/db")["OPTIONS"]
