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
    response = api_client.post(
        "/api/v1/auth/login", data="{not json", content_type="application/json"
    )
    assert_error(response, 400, "invalid_request")


def test_non_object_body_is_400(api_client):
    assert_error(
        api_client.post("/api/v1/auth/login", [1, 2], format="json"), 400, "invalid_request"
    )


def test_form_encoded_body_is_415(api_client):
    response = api_client.post("/api/v1/auth/login", {"email": "a@b.c", "password": "x"})
    assert_error(response, 415, "unsupported_media_type")


def test_unauthenticated_is_401_with_www_authenticate(api_client):
    response = api_client.get("/api/v1/tenants/current")
    assert_error(response, 401, "authentication_failed")
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "minor, currency, major",
    [
        (2900, "usd", "29.00"),
        (0, "usd", "0.00"),
        (5, "eur", "0.05"),
        (2900, "jpy", "2900"),
        (1234, "kwd", "1.234"),
        (-150, "usd", "-1.50"),
    ],
)
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
    assert config["ENGINE"] == "billing_project.db_backend"  # django-tenants' backend, subclassed
    assert (config["HOST"], config["PORT"], config["NAME"], config["USER"]) == (
        "postgres",
        5432,
        "billing",
        "billing_user",
    )
    assert config["OPTIONS"]["pool"] == {"min_size": 20, "max_size": 50}
    monkeypatch.delenv("DB_POOL_SIZE")
    assert "pool" not in _database_from_url("postgresql://u@h/db")["OPTIONS"]


# --- OpenAPI tells the truth (issue 14 item 8) ---------------------------------------------------


@pytest.fixture
def openapi(db):
    # Served per request: plan_id's enum is read from the catalog.
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator(urlconf="billing_project.urls").get_schema(request=None, public=True)


def _operations(schema):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            yield method, path, operation


def _codes(response) -> set:
    return set(response["content"]["application/json"]["examples"])


def test_bearer_and_api_key_are_alternatives_in_the_schema(openapi):
    operation = openapi["paths"]["/api/v1/tenants/current"]["get"]
    assert operation["security"] == [{"bearerAuth": []}, {"apiKeyAuth": []}]
    assert openapi["paths"]["/api/v1/plans"]["get"].get("security") in (None, [{}], [])


def test_each_credential_alone_authenticates(owner_client, owner, api_client):
    from tenants import services

    _, secret = services.api_key_create(
        tenant=owner.memberships.first().tenant,
        name="ci",
        role="viewer",
        created_by=owner,
        actor=owner.email,
    )
    assert owner_client.get("/api/v1/tenants/current").status_code == 200
    api_client.credentials(HTTP_X_API_KEY=secret)
    assert api_client.get("/api/v1/tenants/current").status_code == 200


def test_error_codes_the_api_returns_are_documented_on_their_operation(openapi):
    paths = openapi["paths"]
    assert "no_subscription" in _codes(
        paths["/api/v1/subscriptions/current"]["get"]["responses"]["404"]
    )
    assert "coupon_not_found" in _codes(paths["/api/v1/coupons/apply"]["post"]["responses"]["404"])
    assert "invalid_request" in _codes(paths["/api/v1/invoices"]["get"]["responses"]["400"])
    for method, path, operation in _operations(openapi):
        responses = operation["responses"]
        assert "service_unavailable" in _codes(responses["503"]), (method, path)
        assert responses["503"]["headers"]["Retry-After"]["required"] is True
    for method, path in [
        ("post", "/api/v1/subscriptions"),
        ("get", "/api/v1/payment-methods"),
        ("post", "/api/v1/invoices/{invoice_id}/pay"),
        ("post", "/api/v1/coupons/apply"),
    ]:
        assert "payment_provider_unavailable" in _codes(paths[path][method]["responses"]["503"]), (
            method,
            path,
        )
    # 429 only where a throttle answers it.
    assert "rate_limited" in _codes(paths["/api/v1/auth/login"]["post"]["responses"]["429"])
    assert "429" not in paths["/api/v1/plans"]["get"]["responses"]
    assert "payload_too_large" in _codes(paths["/api/v1/usage"]["post"]["responses"]["413"])
    assert "idempotency_in_progress" in _codes(
        paths["/api/v1/api-keys"]["post"]["responses"]["409"]
    )


def test_request_bodies_state_that_unknown_fields_are_refused(openapi, owner_client):
    components = openapi["components"]["schemas"]
    body = openapi["paths"]["/api/v1/notifications/preferences"]["put"]["requestBody"]
    name = body["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert components[name]["additionalProperties"] is False
    # ... and the API does refuse them.
    response = owner_client.put(
        "/api/v1/notifications/preferences", {"email_owners": True, "surprise": 1}, format="json"
    )
    assert assert_error(response, 400, "invalid_request")["detail"] == {
        "surprise": ["Unknown field."]
    }


@pytest.mark.parametrize("query", ["limit=501", "limit=0", "limit=-1", "limit=abc", "limit=1.5"])
def test_limit_out_of_range_is_a_400_not_clamped(owner_client, query):
    error = assert_error(owner_client.get(f"/api/v1/notifications?{query}"), 400, "invalid_request")
    assert "limit" in error["detail"]


def test_limit_500_is_the_largest_page(owner_client):
    assert owner_client.get("/api/v1/notifications?limit=500").status_code == 200


@pytest.mark.parametrize(
    "cursor",
    [
        "zzz",
        "cD1hYmM=",  # "p=abc": not an id of the ordering
        "bz0tMQ==",
    ],
)  # "o=-1"
def test_a_cursor_the_api_did_not_issue_is_a_400(owner_client, cursor):
    for path in (
        "/api/v1/notifications",
        "/api/v1/usage/events",
        "/api/v1/invoices",
        "/api/v1/api-keys",
    ):
        error = assert_error(owner_client.get(f"{path}?cursor={cursor}"), 400, "invalid_request")
        assert error["detail"] == {"cursor": ["Invalid cursor."]}, path


def test_an_issued_cursor_reads_the_next_page(owner_client, owner, tenant):
    from tenants import services

    for n in range(3):
        services.api_key_create(
            tenant=tenant, name=f"k{n}", role="viewer", created_by=owner, actor=owner.email
        )
    first = owner_client.get("/api/v1/api-keys?limit=2")
    assert first.status_code == 200 and len(first.json()) == 2
    next_url = first["Link"].split(";")[0].strip("<>")
    second = owner_client.get(next_url)
    assert second.status_code == 200 and second.json()
    assert not {k["api_key_id"] for k in first.json()} & {k["api_key_id"] for k in second.json()}


def test_an_undeclared_method_is_405_even_with_an_idempotency_key(owner_client):
    owner_client.post(
        "/api/v1/notifications/test", {}, format="json", HTTP_IDEMPOTENCY_KEY="same-key"
    )
    response = owner_client.put(
        "/api/v1/notifications/test", {}, format="json", HTTP_IDEMPOTENCY_KEY="same-key"
    )
    assert_error(response, 405, "method_not_allowed")


def test_output_fields_are_built_once_and_never_shared(tenant):
    # billing_project.api.fields.ModelOutput: one build per class, a copy per serializer, so one
    # serializer's bound fields (their parent, its context) never leak into another's.
    from tenants.api.serializers import CurrentTenantOutput, TenantOutput

    first, second = CurrentTenantOutput(tenant), CurrentTenantOutput(tenant)
    assert first.fields["name"] is not second.fields["name"]
    assert first.fields["billing_status"].parent is first
    assert second.fields["billing_status"].parent is second
    assert first.data == second.data
    assert first.data["slug"] == tenant.slug and "billing_status" in first.data
    assert "billing_status" not in TenantOutput(tenant).data  # the parent class keeps its own


@pytest.mark.parametrize(
    "accept, status, content_type",
    [
        (None, 200, "application/json"),
        ("*/*", 200, "application/json"),
        ("application/json", 200, "application/json"),
        ("application/*", 200, "application/json"),
        ("text/html", 406, "application/json"),
    ],
)
def test_content_negotiation_answers_what_drf_would(api_client, accept, status, content_type):
    headers = {"HTTP_ACCEPT": accept} if accept else {}
    response = api_client.get("/api/v1/plans", **headers)
    assert response.status_code == status
    assert response["Content-Type"] == content_type


def test_an_indented_json_answer_is_still_negotiated(api_client):
    response = api_client.get("/api/v1/plans", HTTP_ACCEPT="application/json; indent=2")
    assert response.status_code == 200
    assert response.content.startswith(b"[\n  {")
    assert response["Content-Type"] == "application/json"


@pytest.mark.parametrize(
    "accept_language, content_language, message",
    [
        (None, "en", "Authentication credentials were not provided."),
        ("pt-BR", "pt-br", "As credenciais de autenticação não foram fornecidas."),
        ("es", "es", "Las credenciales de autenticación no se proveyeron."),
    ],
)
def test_api_answers_in_the_requested_language_and_english_by_default(
    api_client, accept_language, content_language, message
):
    # Spanish first: a language left active by an earlier request must not leak into the next one.
    api_client.get("/api/v1/tenants/current", HTTP_ACCEPT_LANGUAGE="es")
    headers = {"HTTP_ACCEPT_LANGUAGE": accept_language} if accept_language else {}
    response = api_client.get("/api/v1/tenants/current", **headers)
    assert response.status_code == 401
    assert response["Content-Language"] == content_language
    assert "Accept-Language" in response["Vary"]
    assert response.json()["error"]["message"] == message


def test_no_api_route_matches_another_apps_paths():
    """billing_project.urls orders the apps' API routes by how often they are called: that is safe
    only while no app's route matches a path another app's route is for, whatever their order (an
    app's own routes keep their order: payment-methods/setup-intent before payment-methods/<id>)."""
    import re
    from importlib import import_module

    from django.urls import resolve

    from billing_project.urls import API_APPS

    routes = {app: import_module(f"{app}.api.urls").urlpatterns for app in API_APPS}
    for app, own in routes.items():
        others = [route for other, theirs in routes.items() if other != app for route in theirs]
        for route in own:
            # The route's own path, each converter given a value no literal segment has.
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"zz-\1", str(route.pattern))
            assert resolve(f"/api/v1/{path}", urlconf="billing_project.urls").func is route.callback
            assert not [str(o.pattern) for o in others if o.pattern.match(path)], (app, path)
