"""The server `make run` starts (gunicorn, config/gunicorn.conf.py, DEBUG off), as users meet it:
50 concurrent clients and no 5xx; its own 404/500 pages (JSON under /api/), never Django's debug page
with its list of routes; static files (admin and portal CSS) served with DEBUG off."""

import threading
from collections import Counter
from functools import partial

import pytest
import requests
from django.urls import include, path

from tests.concurrency import at_once
from tests.conftest import DEMO_PASSWORD
from tests.reliability.conftest import portal_host

CLIENTS = 50
ROUNDS = 2
DEBUG_PAGE_MARKS = (
    "URLconf",
    "Using the URLconf",
    "Django tried these URL patterns",
    "Traceback",
    "DEBUG = True",
)


def _login(base_url, email) -> str:
    response = requests.post(
        base_url + "/api/v1/auth/login",
        json={"email": email, "password": DEMO_PASSWORD},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def test_50_concurrent_clients_get_no_server_error(live_server_url):
    tokens = [
        _login(live_server_url, email)
        for email in ("owner@acme.test", "viewer@acme.test", "owner@globex.test")
    ]
    statuses = Counter()
    errors = []
    lock = threading.Lock()

    def client(number):
        session = requests.Session()
        token = tokens[number % len(tokens)]
        calls = [
            ("plans", lambda: session.get(live_server_url + "/api/v1/plans", timeout=120)),
            (
                "current tenant",
                lambda: session.get(
                    live_server_url + "/api/v1/tenants/current",
                    timeout=120,
                    headers={"Authorization": f"Bearer {token}"},
                ),
            ),
            (
                "invoices",
                lambda: session.get(
                    live_server_url + "/api/v1/invoices",
                    timeout=120,
                    headers={"Authorization": f"Bearer {token}"},
                ),
            ),
            (
                "portal login page",
                lambda: session.get(
                    live_server_url + "/login/",
                    timeout=120,
                    allow_redirects=False,
                    headers=portal_host("acme", live_server_url),
                ),
            ),
        ]
        if number % 10 == 0:  # password hashing is deliberately slow: 5 logins among the 50 clients
            calls.append(
                (
                    "login",
                    lambda: session.post(
                        live_server_url + "/api/v1/auth/login",
                        timeout=120,
                        json={"email": "owner@globex.test", "password": DEMO_PASSWORD},
                    ),
                )
            )
        for _ in range(ROUNDS):
            for name, call in calls:
                try:
                    status = call().status_code
                except (
                    requests.RequestException
                ) as exc:  # a refused or dropped connection is a failure too
                    with lock:
                        errors.append(f"{name}: {exc!r}")
                    continue
                with lock:
                    statuses[(name, status)] += 1

    at_once(*[partial(client, number) for number in range(CLIENTS)])

    assert not errors, errors[:5]
    server_errors = {key: count for key, count in statuses.items() if key[1] >= 500}
    assert not server_errors, f"5xx answers: {server_errors} (all: {dict(statuses)})"
    # Every call got the answer a user expects, not only "no 5xx".
    assert {status for (name, status) in statuses} == {200}, dict(statuses)
    assert sum(statuses.values()) == ROUNDS * (CLIENTS * 4 + CLIENTS // 10)


def _assert_not_debug_page(response):
    for mark in DEBUG_PAGE_MARKS:
        assert mark not in response.text, (
            f"{response.url}: Django's debug page ({mark!r}):\n{response.text[:500]}"
        )


@pytest.mark.parametrize("url_path", ["/", "/no-such-page", "/admin-typo/"])
def test_unknown_pages_of_the_public_host_are_our_404_page(live_server_url, url_path):
    response = requests.get(live_server_url + url_path, timeout=60)
    assert response.status_code == 404
    assert response.headers["Content-Type"].startswith("text/html")
    assert "Page not found" in response.text
    _assert_not_debug_page(response)


@pytest.mark.parametrize(
    "url_path", ["/api/v1/", "/api/v1/no-such-thing", "/api/", "/api/v2/plans"]
)
def test_unknown_api_paths_are_the_json_not_found_error(live_server_url, url_path):
    response = requests.get(live_server_url + url_path, timeout=60)
    assert response.status_code == 404
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "detail"}, body
    assert body["error"]["code"] == "not_found"
    _assert_not_debug_page(response)


def test_an_unknown_portal_path_is_our_404_page(live_server_url):
    response = requests.get(
        live_server_url + "/no-such-portal-page",
        headers=portal_host("acme", live_server_url),
        timeout=60,
        allow_redirects=False,
    )
    assert response.status_code == 404
    assert "Page not found" in response.text
    assert 'href="/"' in response.text  # back to the portal, not to the API docs
    _assert_not_debug_page(response)


def test_static_files_are_served_with_debug_off(live_server_url):
    admin_login = requests.get(live_server_url + "/admin/login/", timeout=60)
    assert admin_login.status_code == 200
    assert "/static/admin/css/base.css" in admin_login.text
    for css in ("/static/admin/css/base.css", "/static/css/app.css"):
        response = requests.get(live_server_url + css, timeout=60)
        assert response.status_code == 200, css
        assert response.headers["Content-Type"].startswith("text/css"), css
        assert len(response.content) > 100, css
    portal_css = requests.get(
        live_server_url + "/static/css/app.css",
        headers=portal_host("acme", live_server_url),
        timeout=60,
    )
    assert portal_css.status_code == 200


# --- 500: a view that fails, in-process (the live server has no route that fails on purpose) ------------


def _broken_view(request):
    raise RuntimeError("a bug")


def _urlconf(real):
    """A module-like urlconf: the failing routes in front of a real urlconf, with its handlers."""
    import importlib
    import types

    module = importlib.import_module(real)
    conf = types.ModuleType(f"broken_{real.replace('.', '_')}")
    conf.urlpatterns = [
        path("api/v1/broken", _broken_view),
        path("broken", _broken_view),
        path("", include(real)),
    ]
    conf.handler404, conf.handler500 = module.handler404, module.handler500
    return conf


@pytest.fixture
def broken_routes(settings, monkeypatch):
    import sys

    for real in ("billing_project.urls", "billing_project.urls_tenant"):
        conf = _urlconf(real)
        monkeypatch.setitem(sys.modules, conf.__name__, conf)
    settings.PUBLIC_SCHEMA_URLCONF = "broken_billing_project_urls"
    settings.ROOT_URLCONF = "broken_billing_project_urls_tenant"


@pytest.mark.parametrize("host", ["localhost", "acme.localhost"])
def test_a_server_error_is_json_under_api_and_our_500_page_elsewhere(
    broken_routes, client, host, db
):
    client.raise_request_exception = False
    api = client.get("/api/v1/broken", HTTP_HOST=host)
    assert api.status_code == 500
    assert api.json()["error"]["code"] == "server_error"
    page = client.get("/broken", HTTP_HOST=host)
    assert page.status_code == 500
    assert page["Content-Type"].startswith("text/html")
    assert "Something went wrong" in page.content.decode()
    assert "Traceback" not in page.content.decode() and "RuntimeError" not in page.content.decode()
