"""Bad input gets a clear 4xx in the API's JSON error shape, never a 500 or an HTML page (issue 14, item 5).

Each case below answered 500 (or Django's 400 HTML page) before: PostgreSQL refuses NUL in text, a
lone surrogate cannot be encoded to UTF-8, 5,000 levels of JSON overflow the decoder's recursion, an
offset of +18:33 is refused by PostgreSQL, DRF's OPTIONS metadata needs a serializer the list views
do not declare, and Django answers an oversized body with its own HTML page.
"""

import http.client
import json
from urllib.parse import urlsplit

import pytest
from django_tenants.utils import tenant_context

from tests.conftest import assert_error
from tests.usage.conftest import event
from usage.models import UsageEvent

pytestmark = pytest.mark.django_db


def post_raw(client, path: str, raw: str | bytes):
    return client.generic("POST", path, raw, content_type="application/json")


@pytest.fixture
def new_events(tenant):
    """new_events() -> how many usage events acme gained since the test started (the server of the
    live tests may have committed some before)."""

    def count():
        with tenant_context(tenant):
            return UsageEvent.objects.count()

    before = count()
    return lambda: count() - before


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("field", ["source", "transaction_id", "unit"])
def test_nul_character_in_a_text_field_is_a_400_naming_the_field(owner_client, new_events, field):
    response = owner_client.post("/api/v1/usage", event(**{field: "a\u0000b"}), format="json")
    error = assert_error(response, 400, "invalid_request")
    assert field in error["detail"] and "NUL" in error["detail"][field][0]
    assert new_events() == 0


def test_nul_character_in_properties_or_a_batch_is_a_400(owner_client, new_events):
    response = owner_client.post("/api/v1/usage", event(properties={"a\u0000": 1}), format="json")
    assert_error(response, 400, "invalid_request")
    response = owner_client.post(
        "/api/v1/usage", event(properties={"user": ["x\u0000"]}), format="json"
    )
    assert_error(response, 400, "invalid_request")
    response = owner_client.post(
        "/api/v1/usage/batch",
        {"events": [event(source="ok"), event(source="\u0000")]},
        format="json",
    )
    assert_error(response, 400, "invalid_request")
    assert new_events() == 0


def test_nul_character_in_any_endpoints_body_is_a_400(owner_client):
    # Checked once for the whole API (its JSON parser), not per serializer.
    response = owner_client.post(
        "/api/v1/api-keys", {"name": "key\u0000", "role": "ingest"}, format="json"
    )
    error = assert_error(response, 400, "invalid_request")
    assert "name" in error["detail"]


def test_lone_surrogate_is_a_400(owner_client, new_events):
    # json.dumps would escape it; written by hand as a client sending invalid Unicode does.
    raw = json.dumps(event(source="PLACEHOLDER")).replace("PLACEHOLDER", "\\ud800")
    error = assert_error(post_raw(owner_client, "/api/v1/usage", raw), 400, "invalid_request")
    assert "source" in error["detail"]
    assert new_events() == 0


def test_invalid_utf8_is_a_400(owner_client):
    raw = json.dumps(event(source="PLACEHOLDER")).encode().replace(b"PLACEHOLDER", b"\xed\xa0\x80")
    assert_error(post_raw(owner_client, "/api/v1/usage", raw), 400, "invalid_request")


def test_body_nested_5000_deep_is_a_400(owner_client, new_events):
    raw = json.dumps(event(properties={"deep": "PLACEHOLDER"})).replace(
        '"PLACEHOLDER"', nested(5000)
    )
    assert_error(post_raw(owner_client, "/api/v1/usage", raw), 400, "invalid_request")
    assert_error(
        post_raw(owner_client, "/api/v1/usage/batch", nested(5000)), 400, "invalid_request"
    )
    assert new_events() == 0


def test_properties_are_capped_at_32_levels_and_16_kb(owner_client, new_events):
    def deep(levels):  # properties at depth 1, then levels - 1 nested objects
        value = {}
        for _ in range(levels - 1):
            value = {"a": value}
        return value

    assert (
        owner_client.post("/api/v1/usage", event(properties=deep(32)), format="json").status_code
        == 201
    )
    error = assert_error(
        owner_client.post("/api/v1/usage", event(properties=deep(33)), format="json"),
        400,
        "invalid_request",
    )
    assert "properties" in error["detail"] and "32" in error["detail"]["properties"][0]
    small = {"note": "x" * (16 * 1024 - 20)}
    assert (
        owner_client.post("/api/v1/usage", event(properties=small), format="json").status_code
        == 201
    )
    for size in (17 * 1024, 1024 * 1024):
        error = assert_error(
            owner_client.post(
                "/api/v1/usage", event(properties={"note": "x" * size}), format="json"
            ),
            400,
            "invalid_request",
        )
        assert "16 KB" in error["detail"]["properties"][0]
    assert new_events() == 2


def test_properties_limits_are_in_the_openapi_document(api_client):
    schema = api_client.get("/api/schema/?format=json").json()
    description = schema["components"]["schemas"]["UsageEventInputRequest"]["properties"][
        "properties"
    ]["description"]
    assert "32 levels" in description and "16 KB" in description


@pytest.mark.parametrize(
    "value",
    [
        "2024-01-01T00:00:00+18:33",
        "2024-01-01T00:00:00-13:00",
        "0001-01-01T00:00:00+05:00",
        "9999-12-31T23:00:00-05:00",
        "2024-13-01T00:00:00Z",
        "2024-01-01T00:00:00+24:00",
    ],
)
def test_impossible_or_unstorable_timestamps_in_query_parameters_are_a_400(owner_client, value):
    for path in ("/api/v1/usage/events", "/api/v1/usage/report.csv"):
        response = owner_client.get(path, {"from": value})
        error = assert_error(response, 400, "invalid_request")
        assert "from" in error["detail"]


@pytest.mark.parametrize(
    "field,value",
    [("period_start", "2024-01-01T00:00:00+18:33"), ("period_start", "0001-01-01T00:00:00+05:00")],
)
def test_unstorable_timestamps_in_a_body_are_a_400(owner_client, field, value):
    error = assert_error(
        owner_client.post("/api/v1/usage", event(**{field: value}), format="json"),
        400,
        "invalid_request",
    )
    assert field in error["detail"]


def test_real_offsets_still_work_and_are_read_in_utc(owner_client):
    owner_client.post(
        "/api/v1/usage",
        event(period_start="2024-01-01T05:00:00+14:00", transaction_id="kiribati"),
        format="json",
    )
    response = owner_client.get(
        "/api/v1/usage/events",
        {"from": "2023-12-31T15:00:00+00:00", "to": "2024-01-01T05:00:00+14:00"},
    )
    assert response.status_code == 200, response.content
    assert response.json() == []  # `to` is exclusive: 2023-12-31T15:00:00Z itself
    response = owner_client.get("/api/v1/usage/events", {"from": "2023-12-31T04:00:00-11:00"})
    assert [e["transaction_id"] for e in response.json()] == ["kiribati"]


def test_nul_character_in_query_parameters_and_path_ids_is_a_400(owner_client):
    error = assert_error(
        owner_client.get("/api/v1/usage/events", {"source": "a\u0000b"}), 400, "invalid_request"
    )
    assert "source" in error["detail"]
    assert_error(owner_client.delete("/api/v1/api-keys/key%00"), 400, "invalid_request")


def test_options_on_a_list_endpoint_answers_instead_of_a_500(owner_client):
    response = owner_client.options("/api/v1/api-keys")
    assert response.status_code == 200, response.content
    assert response.json()["parses"] == ["application/json"]
    assert owner_client.options("/api/v1/usage").status_code == 200


def test_ten_megabyte_body_is_a_413_in_the_json_error_shape(owner_client, new_events):
    raw = json.dumps(event(properties={"blob": "x" * (10 * 1024 * 1024)}))
    response = post_raw(owner_client, "/api/v1/usage", raw)
    assert_error(response, 413, "payload_too_large")
    assert response["Content-Type"] == "application/json"
    assert new_events() == 0


def test_year_one_renders_with_four_digits(owner_client):
    response = owner_client.post(
        "/api/v1/usage",
        event(period_start="0001-01-01T00:00:00Z", period_end="0001-01-01T00:00:00Z"),
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["period_start"] == body["period_end"] == "0001-01-01T00:00:00Z"
    assert body["billing_period_start"] == "0001-01-01T00:00:00Z"
    listed = owner_client.get("/api/v1/usage/events", {"to": "0002-01-01T00:00:00Z"}).json()
    assert [e["period_start"] for e in listed] == ["0001-01-01T00:00:00Z"]


# --- through the real server: what gunicorn hands Django for big and chunked bodies -----------


def _send(live_server_url: str, method: str, path: str, body_parts, headers: dict):
    url = urlsplit(live_server_url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    try:
        connection.putrequest(method, path)
        for name, value in headers.items():
            connection.putheader(name, value)
        connection.endheaders()
        for part in body_parts:
            try:
                connection.send(part)
            except (BrokenPipeError, ConnectionResetError):
                break  # the server answered before reading it all
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type"), response.read()
    finally:
        connection.close()


def _owner_token(live_server_url) -> str:
    # Through the server itself: a credential made in this test's transaction would be invisible to it.
    from tests.conftest import DEMO_PASSWORD

    login = json.dumps({"email": "owner@acme.test", "password": DEMO_PASSWORD}).encode()
    status, _, body = _send(
        live_server_url,
        "POST",
        "/api/v1/auth/login",
        [login],
        {"Content-Type": "application/json", "Content-Length": str(len(login))},
    )
    assert status == 200, body
    return json.loads(body)["access_token"]


def test_big_and_chunked_bodies_get_json_errors_from_the_real_server(live_server_url, settings):
    headers = {
        "Content-Type": "application/json",
        "Authorization": f"Bearer {_owner_token(live_server_url)}",
    }
    # One byte over the limit (the 10 MB case is above, in-process): Django reads limit + 1 bytes
    # and answers, so the whole body is consumed and the socket closes cleanly.
    size = settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1
    head = json.dumps(event(properties={"blob": ""}))[:-3].encode()  # ...{"blob": "
    payload = head + b"x" * (size - len(head) - 3) + b'"}}'
    assert len(payload) == size
    status, content_type, body = _send(
        live_server_url,
        "POST",
        "/api/v1/usage",
        [payload],
        {**headers, "Content-Length": str(size)},
    )
    assert (status, content_type) == (413, "application/json"), body[:300]
    assert json.loads(body)["error"]["code"] == "payload_too_large"

    # Django reads no chunked body (no Content-Length): it would look empty ("field required").
    small = json.dumps(event()).encode()
    framed = [b"%x\r\n%s\r\n0\r\n\r\n" % (len(small), small)]
    status, content_type, body = _send(
        live_server_url,
        "POST",
        "/api/v1/usage",
        framed,
        {**headers, "Transfer-Encoding": "chunked"},
    )
    assert (status, content_type) == (411, "application/json"), body[:300]
    assert json.loads(body)["error"]["code"] == "length_required"
