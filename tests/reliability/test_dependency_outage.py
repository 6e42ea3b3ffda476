"""Redis stopped or PostgreSQL refusing connections: no 500, no HTML for the API; a 503
`service_unavailable` with Retry-After, or a working answer where one is possible; no accepted usage
lost (issue 14, item 5).

In-process tests play the outage with closed ports and a refusing connection (tests/reliability/
outage.py); the last test stops a real redis-server under the real gunicorn server.
"""

import json
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from decimal import Decimal

import pytest
from django_tenants.utils import tenant_context

from tests.conftest import DEMO_PASSWORD, assert_error
from tests.reliability.outage import closed_port, database_refused, redis_down
from tests.usage.conftest import _usage_caches_clean, event  # noqa: F401 (autouse: no counters left in Redis)

pytestmark = pytest.mark.django_db


def assert_unavailable(response):
    error = assert_error(response, 503, "service_unavailable")
    assert int(response["Retry-After"]) > 0
    return error


# --- Redis stopped ----------------------------------------------------------------------------


def test_plans_are_read_from_the_database_while_redis_is_down(api_client, settings, monkeypatch):
    with redis_down(settings, monkeypatch):
        response = api_client.get("/api/v1/plans")
    assert response.status_code == 200, response.content
    assert "free" in [plan["plan_id"] for plan in response.json()]


def test_login_and_authenticated_reads_never_fail_with_a_500_while_redis_is_down(
    api_client, owner_client, settings, monkeypatch
):
    api_client.raise_request_exception = False
    with redis_down(settings, monkeypatch):
        login = api_client.post(
            "/api/v1/auth/login",
            {"email": "owner@acme.test", "password": DEMO_PASSWORD},
            format="json",
        )
        current = owner_client.get("/api/v1/tenants/current")
        summary = owner_client.get("/api/v1/usage/summary")
    # Login throttling falls back to the database (tenants.services.auth); at worst a clear 503.
    if login.status_code != 200:
        assert_unavailable(login)
    assert current.status_code == 200 and current.json()["slug"] == "acme"
    assert summary.status_code == 200, summary.content


def test_usage_ingested_while_redis_is_down_is_stored_and_counted_once_redis_is_back(
    owner_client, tenant, settings, monkeypatch, django_capture_on_commit_callbacks
):
    def used() -> Decimal:
        response = owner_client.get("/api/v1/entitlements/check", {"resource": "api_calls"})
        assert response.status_code == 200, response.content
        return Decimal(response.json()["used"])

    def ingest(quantity, n):
        with django_capture_on_commit_callbacks(execute=True):
            response = owner_client.post(
                "/api/v1/usage",
                event(quantity=quantity, transaction_id=f"outage-{n}"),
                format="json",
            )
        assert response.status_code == 201, response.content

    base = used()
    for n in range(3):
        ingest("10", n)
    assert used() == base + 30  # the Redis counter now holds this

    with redis_down(settings, monkeypatch):
        for n in range(3, 5):
            ingest("7", n)
        assert used() == base + 44  # meanwhile checks read the rollup

    # Redis answers again, with the counter it held before the outage: the check must not believe it.
    assert used() == base + 44
    stored = {e["transaction_id"] for e in owner_client.get("/api/v1/usage/events").json()}
    assert {f"outage-{n}" for n in range(5)} <= stored  # nothing accepted was lost


def test_test_notification_is_created_and_left_for_the_retry_sweep_while_the_broker_is_down(
    owner_client, tenant, settings, monkeypatch, django_capture_on_commit_callbacks
):
    from notifications.models import Delivery, Notification

    with redis_down(settings, monkeypatch):
        with django_capture_on_commit_callbacks(execute=True):
            response = owner_client.post("/api/v1/notifications/test", {}, format="json")
    assert response.status_code == 201, response.content
    with tenant_context(tenant):
        notification = Notification.objects.get(pk=response.json()["notification_id"])
        statuses = set(
            Delivery.objects.filter(notification=notification).values_list("status", flat=True)
        )
    assert statuses == {
        Delivery.Status.PENDING
    }  # sent by notifications_retry_sweep once Redis is back


# --- PostgreSQL refusing connections ----------------------------------------------------------


@pytest.fixture
def raw_owner_client(owner_client):
    # The test client re-raises exceptions the server turned into responses; a real server does
    # not, and the response is what is checked here.
    owner_client.raise_request_exception = False
    return owner_client


REQUESTS = [
    ("post", "/api/v1/auth/login", {"email": "owner@acme.test", "password": DEMO_PASSWORD}),
    ("get", "/api/v1/plans", None),
    ("get", "/api/v1/tenants/current", None),
    ("get", "/api/v1/usage/summary", None),
    ("post", "/api/v1/usage", "event"),
    ("post", "/api/v1/notifications/test", {}),
]


@pytest.mark.parametrize("method,path,body", REQUESTS, ids=[f"{m} {p}" for m, p, _ in REQUESTS])
def test_api_answers_503_json_when_the_database_refuses_connections(
    raw_owner_client, tenant, monkeypatch, method, path, body
):
    from usage.models import UsageEvent

    data = event() if body == "event" else body
    with tenant_context(tenant):
        before = UsageEvent.objects.count()
    with database_refused(monkeypatch):
        response = getattr(raw_owner_client, method)(path, data, format="json")
    assert_unavailable(response)
    with tenant_context(tenant):
        assert UsageEvent.objects.count() == before


def test_portal_and_admin_answer_a_small_503_page_when_the_database_refuses_connections(
    api_client, monkeypatch
):
    api_client.raise_request_exception = False
    with database_refused(monkeypatch):
        portal = api_client.get("/", HTTP_HOST="acme.localhost")
        admin = api_client.get("/admin/login/")
        portal_json = api_client.get(
            "/", HTTP_HOST="acme.localhost", HTTP_ACCEPT="application/json"
        )
    for response in (portal, admin):
        assert response.status_code == 503 and int(response["Retry-After"]) > 0
        assert response["Content-Type"].startswith("text/html")
        assert (
            b"Temporarily unavailable" in response.content and b"Traceback" not in response.content
        )
    assert_unavailable(portal_json)


# --- a real redis-server stopped under the real server ----------------------------------------


def _request(url, method="GET", body=None, headers=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url,
        data=data,
        method=method,
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return (
                response.status,
                response.headers.get("Content-Type"),
                json.loads(response.read() or b"null"),
            )
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        is_json = exc.headers.get("Content-Type") == "application/json"
        return exc.code, exc.headers.get("Content-Type"), json.loads(raw) if is_json else raw


def _start_redis(port: int, tmp_path) -> subprocess.Popen:
    process = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return process
        time.sleep(0.05)
    process.kill()
    pytest.fail("redis-server did not start")


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs a redis-server binary")
def test_real_server_with_redis_stopped_answers_json(django_db_setup, tmp_path):
    from tests.reliability.conftest import gunicorn_server

    port = closed_port()
    redis_process = _start_redis(port, tmp_path)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        with gunicorn_server(tmp_path, workers=1, REDIS_URL=url, CELERY_BROKER_URL=url) as server:
            status, _, tokens = _request(
                server.url + "/api/v1/auth/login",
                "POST",
                {"email": "owner@acme.test", "password": DEMO_PASSWORD},
            )
            assert status == 200, tokens
            auth = {"Authorization": f"Bearer {tokens['access_token']}"}

            redis_process.terminate()
            redis_process.wait(timeout=10)
            # Reads only: rows this server commits would outlive the test (ingest and the test
            # notification with Redis down are checked in-process above).
            answers = {
                "plans": _request(server.url + "/api/v1/plans"),
                "login": _request(
                    server.url + "/api/v1/auth/login",
                    "POST",
                    {"email": "owner@acme.test", "password": DEMO_PASSWORD},
                ),
                "current": _request(server.url + "/api/v1/tenants/current", headers=auth),
                "summary": _request(server.url + "/api/v1/usage/summary", headers=auth),
                "check": _request(
                    server.url + "/api/v1/entitlements/check?resource=api_calls", headers=auth
                ),
            }
            for name, (status, content_type, body) in answers.items():
                assert content_type == "application/json", (name, status, body)
                assert status < 500 or (
                    status == 503 and body["error"]["code"] == "service_unavailable"
                ), (name, status, body)
            assert [answers[name][0] for name in ("plans", "current", "summary", "check")] == [
                200
            ] * 4
    finally:
        redis_process.kill()
        redis_process.wait()
