"""The login throttle (tenants.services.auth): atomic under parallel guesses, one set of buckets for the
API, the portal and the admin, per real client IP behind trusted proxies only, and still a limit (not a
500) when Redis is down."""

import uuid
from functools import partial

import pytest
import redis
from django.test import Client
from rest_framework.test import APIClient

from tests.concurrency import at_once
from tests.conftest import DEMO_PASSWORD, assert_error, new_client
from tests.portal.conftest import PORTAL_HOST

pytestmark = pytest.mark.django_db

LOGIN = "/api/v1/auth/login"
PARALLEL = 20


def _email() -> str:
    return f"guess-{uuid.uuid4().hex[:10]}@acme.test"


def _ip() -> str:
    n = uuid.uuid4().int
    return f"203.{n & 255}.{(n >> 8) & 255}.{(n >> 16) & 255}"


def api_login(client, email, password="wrong-password-1"):
    return client.post(LOGIN, {"email": email, "password": password}, format="json")


def admin_login(client, email, password="wrong-password-1"):
    return client.post(
        "/admin/login/", {"username": email, "password": password, "next": "/admin/"}
    )


@pytest.fixture
def redis_down(monkeypatch):
    """Redis refuses every connection (a port nobody listens on), for the throttle only."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    dead = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=0.5, socket_timeout=0.5)
    monkeypatch.setattr("tenants.services.auth.get_redis", lambda: dead)
    return dead


def _parallel_wrong_passwords(email: str) -> list[int]:
    """PARALLEL wrong passwords for one email, from PARALLEL addresses, released at the same instant."""
    clients = [new_client() for _ in range(PARALLEL)]
    return at_once(
        *[
            partial(lambda client: api_login(client, email).status_code, client)
            for client in clients
        ]
    )


@pytest.mark.parametrize("store", ["redis", "database"])
def test_parallel_wrong_passwords_never_pass_the_limit(store, settings, request):
    if store == "database":
        request.getfixturevalue("redis_down")
    statuses = _parallel_wrong_passwords(_email())
    assert len(statuses) == PARALLEL and set(statuses) <= {401, 429}, statuses
    assert statuses.count(401) <= settings.LOGIN_FAILURES_PER_EMAIL, statuses  # checked passwords
    assert statuses.count(429) >= PARALLEL - settings.LOGIN_FAILURES_PER_EMAIL


def test_with_redis_down_the_limit_holds_in_the_database(redis_down, owner):
    client, email = new_client(), owner.email
    for _ in range(5):
        assert_error(api_login(client, email), 401, "authentication_failed")
    response = api_login(client, email, DEMO_PASSWORD)
    assert_error(response, 429, "rate_limited")
    assert 1 <= int(response["Retry-After"]) <= 15 * 60


def test_with_redis_down_a_right_password_signs_in_and_resets_the_email(redis_down, owner):
    client = new_client()
    for _ in range(4):
        api_login(client, owner.email)
    assert api_login(client, owner.email, DEMO_PASSWORD).status_code == 200
    for _ in range(4):
        assert api_login(client, owner.email).status_code == 401  # counting starts afresh


# --- one throttle for the API, the portal and the admin ------------------------------------------------------


def test_failures_in_the_api_portal_and_admin_add_up(tenant):
    email, ip = _email(), _ip()
    api, portal, admin = (
        APIClient(REMOTE_ADDR=ip),
        Client(HTTP_HOST=PORTAL_HOST, REMOTE_ADDR=ip),
        Client(REMOTE_ADDR=ip),
    )
    assert api_login(api, email).status_code == 401
    assert api_login(api, email).status_code == 401
    assert portal.post("/login/", {"email": email, "password": "nope-nope-1"}).status_code == 400
    assert portal.post("/login/", {"email": email, "password": "nope-nope-1"}).status_code == 400
    assert "Please enter the correct email" in admin_login(admin, email).content.decode()
    assert_error(api_login(api, email), 429, "rate_limited")
    assert (
        "Too many failed sign-ins"
        in portal.post("/login/", {"email": email, "password": "x"}).content.decode()
    )
    assert "Too many failed sign-ins" in admin_login(admin, email).content.decode()


def test_the_admin_refuses_even_the_right_password_after_api_failures(db):
    from tenants.models import User

    staff = User.objects.create_user(
        email=_email(), password=DEMO_PASSWORD, is_staff=True, is_superuser=True
    )
    for _ in range(5):
        assert api_login(new_client(), staff.email).status_code == 401
    admin = Client()
    response = admin_login(admin, staff.email, DEMO_PASSWORD)
    assert response.status_code == 200 and "Too many failed sign-ins" in response.content.decode()
    assert admin.get("/admin/").status_code == 302  # not signed in


def test_admin_failures_lock_the_api(db):
    from tenants.models import User

    staff = User.objects.create_user(email=_email(), password=DEMO_PASSWORD, is_staff=True)
    admin = Client(REMOTE_ADDR=_ip())
    for _ in range(5):
        assert admin_login(admin, staff.email).status_code == 200
    assert_error(api_login(new_client(), staff.email, DEMO_PASSWORD), 429, "rate_limited")


def test_the_admin_still_signs_in_with_the_right_password(db):
    from tenants.models import User

    staff = User.objects.create_user(
        email=_email(), password=DEMO_PASSWORD, is_staff=True, is_superuser=True
    )
    admin = Client()
    assert admin_login(admin, staff.email).status_code == 200
    response = admin_login(admin, staff.email, DEMO_PASSWORD)
    assert response.status_code == 302
    assert admin.get("/admin/").status_code == 200


# --- the client's address ----------------------------------------------------------------------------------------


def test_without_trusted_proxies_a_spoofed_header_does_not_escape_the_ip_limit(settings):
    settings.TRUSTED_PROXIES = []
    settings.LOGIN_FAILURES_PER_IP = 3
    client = new_client()
    for _ in range(3):
        # A client rotating X-Real-IP / X-Forwarded-For on every guess: not a new address each time.
        response = client.post(
            LOGIN,
            {"email": _email(), "password": "wrong-password-1"},
            format="json",
            HTTP_X_REAL_IP=_ip(),
            HTTP_X_FORWARDED_FOR=_ip(),
        )
        assert response.status_code == 401
    response = client.post(
        LOGIN,
        {"email": _email(), "password": "x"},
        format="json",
        HTTP_X_REAL_IP=_ip(),
        HTTP_X_FORWARDED_FOR=_ip(),
    )
    assert_error(response, 429, "rate_limited")


def test_behind_a_trusted_proxy_each_client_has_its_own_ip_bucket(settings, tenant):
    nginx = "172.18.0.5"
    settings.TRUSTED_PROXIES = ["172.18.0.0/16"]
    settings.LOGIN_FAILURES_PER_IP = 3
    alice, bob = _ip(), _ip()
    api, portal = APIClient(REMOTE_ADDR=nginx), Client(HTTP_HOST=PORTAL_HOST, REMOTE_ADDR=nginx)

    def through_nginx(client_ip, path, data, **extra):
        # nginx appends its peer to whatever X-Forwarded-For the client sent (which may be a lie).
        forwarded = f"{_ip()}, {client_ip}"
        if path == LOGIN:
            return api.post(
                path, data, format="json", HTTP_X_FORWARDED_FOR=forwarded, HTTP_X_REAL_IP=client_ip
            )
        return portal.post(path, data, HTTP_X_FORWARDED_FOR=forwarded, HTTP_X_REAL_IP=client_ip)

    for _ in range(2):
        assert (
            through_nginx(alice, LOGIN, {"email": _email(), "password": "wrong-1"}).status_code
            == 401
        )
    assert (
        through_nginx(alice, "/login/", {"email": _email(), "password": "wrong-1"}).status_code
        == 400
    )
    assert (
        through_nginx(alice, LOGIN, {"email": _email(), "password": "wrong-1"}).status_code == 429
    )
    # Bob, behind the same nginx, is not Alice: his own bucket, on the API and the portal.
    assert through_nginx(bob, LOGIN, {"email": _email(), "password": "wrong-1"}).status_code == 401
    assert (
        through_nginx(bob, "/login/", {"email": _email(), "password": "wrong-1"}).status_code == 400
    )
