"""/health, /metrics and the OpenAPI schema."""

import pytest
import yaml
from openapi_spec_validator import validate

from billing_project import health
from billing_project.stripe_gateway import client as stripe_client

pytestmark = pytest.mark.django_db


def test_health_ok_when_database_and_redis_answer(api_client):
    response = api_client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == "ok" and body["checks"]["redis"] == "ok"
    assert body["checks"]["stripe"] in ("ok", "not_configured")


def test_health_503_when_the_database_is_unreachable(api_client, settings):
    # A port nothing listens on: the check must fail fast and say which dependency failed.
    settings.DATABASES = {
        "default": {**settings.DATABASES["default"], "HOST": "127.0.0.1", "PORT": "1"}
    }
    response = api_client.get("/health")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error"
    assert body["checks"]["database"].startswith("error")
    assert body["checks"]["redis"] == "ok"


def test_health_503_when_the_database_is_stopped(api_client, settings):
    # A database that does not exist behaves like a stopped one to a new connection.
    settings.DATABASES = {
        "default": {**settings.DATABASES["default"], "NAME": "no_such_database_here"}
    }
    assert api_client.get("/health").status_code == 503


def test_health_503_when_redis_is_unreachable(api_client, monkeypatch):
    monkeypatch.setattr(health, "check_redis", lambda: "error: ConnectionError")
    response = api_client.get("/health")
    assert response.status_code == 503
    assert response.json()["checks"]["redis"].startswith("error")


def test_health_answers_on_a_tenant_host_too(api_client):
    assert api_client.get("/health", HTTP_HOST="acme.localhost").status_code == 200


def _counter(text: str, endpoint: str, method: str, status: str) -> float:
    prefix = "billing_api_requests_total{"
    for line in text.splitlines():
        if (
            line.startswith(prefix)
            and f'endpoint="{endpoint}"' in line
            and f'method="{method}"' in line
            and f'status="{status}"' in line
        ):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_count_api_requests_by_route_template(api_client, owner_client):
    before = _counter(
        api_client.get("/metrics").content.decode(),
        "/api/v1/api-keys/{api_key_id}",
        "DELETE",
        "404",
    )
    owner_client.delete("/api/v1/api-keys/00000000-0000-0000-0000-000000000000")
    owner_client.delete("/api/v1/api-keys/11111111-1111-1111-1111-111111111111")
    text = api_client.get("/metrics").content.decode()
    assert _counter(text, "/api/v1/api-keys/{api_key_id}", "DELETE", "404") == before + 2
    assert "django_http_requests_total_by_method_total" in text


def test_openapi_schema_is_valid_and_documents_every_endpoint(api_client):
    response = api_client.get("/api/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    validate(schema)
    paths = schema["paths"]
    for path in [
        "/api/v1/auth/login",
        "/api/v1/auth/refresh",
        "/api/v1/api-keys",
        "/api/v1/api-keys/{api_key_id}",
        "/api/v1/tenants",
        "/api/v1/tenants/current",
        "/api/v1/plans",
    ]:
        assert path in paths, path
    assert "Error" in schema["components"]["schemas"]
    for path, operations in paths.items():
        for method, operation in operations.items():
            assert "400" in operation["responses"], (method, path)
            if "{" in path:
                assert "404" in operation["responses"], (method, path)
    assert "201" in paths["/api/v1/api-keys"]["post"]["responses"]
    assert "409" in paths["/api/v1/tenants"]["post"]["responses"]


def test_openapi_generation_has_no_warnings():
    from django.core.management import call_command

    call_command(
        "spectacular",
        "--urlconf",
        "billing_project.urls",
        "--validate",
        "--fail-on-warn",
        "--file",
        "/dev/null",
    )


def test_swagger_ui_renders(api_client):
    response = api_client.get("/docs")
    assert response.status_code == 200
    assert b"swagger" in response.content.lower()


def test_health_reports_stripe_through_the_emulator(api_client, stripe_settings):
    stripe_client._last_checks.clear()
    body = api_client.get("/health").json()
    assert body["checks"]["stripe"] == "ok" and body["status"] == "ok"


def test_stripe_down_degrades_health_without_failing_it(api_client, settings):
    stripe_client._last_checks.clear()
    settings.STRIPE_API_KEY = "sk_test_" + "x" * 24
    settings.STRIPE_API_BASE = "http://127.0.0.1:1"  # nothing listens there
    response = api_client.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["checks"]["stripe"].startswith("error")


def _sample(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_each_request_counts_once_in_the_series_the_dashboards_read(api_client):
    """One request moves each request series by one (method, status, API route, latency by view); the
    series no dashboard reads (body sizes, charsets, before-middleware totals) are not written."""
    before = api_client.get("/metrics").content.decode()
    assert api_client.get("/api/v1/plans").status_code == 200
    after = api_client.get("/metrics").content.decode()
    # /metrics is answered by the ops middleware, ahead of the metrics one: scrapes do not count.
    by_method = "django_http_requests_total_by_method_total"
    assert _sample(after, by_method, method="GET") - _sample(before, by_method, method="GET") == 1
    by_status = "django_http_responses_total_by_status_total"
    assert _sample(after, by_status, status="200") - _sample(before, by_status, status="200") == 1
    assert (
        _counter(after, "/api/v1/plans", "GET", "200")
        - _counter(before, "/api/v1/plans", "GET", "200")
        == 1
    )
    assert "django_http_requests_latency_seconds_by_view_method_count" in after
    for unread in (
        "django_http_responses_body_total_bytes_count",
        "django_http_requests_body_total_bytes_count",
        "django_http_requests_before_middlewares_total",
        "django_http_responses_before_middlewares_total",
    ):
        assert _plain(after, unread) == _plain(before, unread) == 0, unread


def _plain(text: str, name: str) -> float:
    """An unlabelled sample's value (0 when absent: declared series start at 0)."""
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_the_wsgi_application_leaves_its_loaded_objects_to_no_collection():
    # Collections walking every loaded object (and the young ones again and again) cost a usage
    # batch ~20% of its CPU (issue 21).
    import subprocess
    import sys

    script = "import gc, billing_project.wsgi; print(gc.get_freeze_count(), gc.get_threshold()[0])"
    frozen = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    count, young = frozen.stdout.split()[-2:]
    assert int(count) > 10_000
    assert int(young) >= 10_000  # not the default 700
