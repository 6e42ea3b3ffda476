"""Login, refresh, expiry and brute-force throttling."""

import uuid
from datetime import timedelta

import pytest
from rest_framework_simplejwt.tokens import AccessToken

from tenants.models import Membership, Role, User
from tests.conftest import DEMO_PASSWORD, assert_error

pytestmark = pytest.mark.django_db

LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"


def login(client, email, password=DEMO_PASSWORD, **extra):
    return client.post(LOGIN, {"email": email, "password": password, **extra}, format="json")


def test_login_returns_a_bearer_token_pair_carrying_user_and_tenant(api_client, owner, tenant):
    response = login(api_client, "Owner@Acme.test")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    claims = AccessToken(body["access_token"])
    assert claims["user_id"] == str(owner.pk) or claims["user_id"] == owner.pk
    assert claims["tenant_id"] == tenant.tenant_id
    assert claims["role"] == "owner"
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {body['access_token']}")
    assert api_client.get("/api/v1/tenants/current").json()["slug"] == "acme"


def test_wrong_password_is_401_in_the_error_shape(api_client, owner):
    assert_error(login(api_client, owner.email, "wrong-password"), 401, "authentication_failed")


def test_unknown_fields_and_missing_fields_are_400(api_client):
    error = assert_error(login(api_client, "a@b.test", extra_field=1), 400, "invalid_request")
    assert "extra_field" in error["detail"]
    error = assert_error(
        api_client.post(LOGIN, {"email": "a@b.test"}, format="json"), 400, "invalid_request"
    )
    assert "password" in error["detail"]


def test_five_failures_for_one_email_lock_it_with_retry_after(api_client, tenant):
    email = f"{uuid.uuid4().hex[:8]}@acme.test"
    user = User.objects.create_user(email=email, password=DEMO_PASSWORD)
    Membership.objects.create(user=user, tenant=tenant, role=Role.VIEWER)
    for _ in range(5):
        assert login(api_client, email, "nope").status_code == 401
    response = login(api_client, email)  # even the right password waits
    assert_error(response, 429, "rate_limited")
    assert 1 <= int(response["Retry-After"]) <= 15 * 60
    # Another email from the same address is not locked by this one.
    assert login(api_client, "owner@acme.test").status_code == 200


def test_success_resets_the_email_counter(api_client, owner):
    for _ in range(4):
        login(api_client, owner.email, "nope")
    assert login(api_client, owner.email).status_code == 200
    for _ in range(4):
        assert login(api_client, owner.email, "nope").status_code == 401
    assert login(api_client, owner.email).status_code == 200


def test_per_ip_limit_covers_many_emails(api_client, settings, owner):
    settings.LOGIN_FAILURES_PER_IP = 3
    for i in range(3):
        login(api_client, f"nobody{i}-{uuid.uuid4().hex[:6]}@x.test", "nope")
    assert_error(login(api_client, owner.email), 429, "rate_limited")


def test_refresh_rotates_and_revokes_the_old_refresh_token(api_client, owner):
    tokens = login(api_client, owner.email).json()
    response = api_client.post(REFRESH, {"refresh_token": tokens["refresh_token"]}, format="json")
    assert response.status_code == 200
    fresh = response.json()
    assert fresh["access_token"] != tokens["access_token"]
    assert (
        AccessToken(fresh["access_token"])["tenant_id"]
        == AccessToken(tokens["access_token"])["tenant_id"]
    )
    again = api_client.post(REFRESH, {"refresh_token": tokens["refresh_token"]}, format="json")
    assert_error(again, 401, "authentication_failed")


def test_refresh_with_garbage_is_401(api_client):
    assert_error(
        api_client.post(REFRESH, {"refresh_token": "garbage"}, format="json"),
        401,
        "authentication_failed",
    )


def test_expired_access_token_is_401(api_client, owner, tenant):
    token = AccessToken.for_user(owner)
    token["tenant_id"] = tenant.tenant_id
    token.set_exp(lifetime=-timedelta(seconds=1))
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    error = assert_error(api_client.get("/api/v1/tenants/current"), 401, "authentication_failed")
    assert "expired" in error["message"].lower()


def test_a_token_accepted_before_is_refused_once_it_expires(api_client, owner, tenant, monkeypatch):
    # The process keeps tokens it verified (billing_project.api.authentication): the expiry is
    # still checked on every use.
    from django.utils import timezone

    token = AccessToken.for_user(owner)
    token["tenant_id"] = tenant.tenant_id
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert api_client.get("/api/v1/tenants/current").status_code == 200
    assert api_client.get("/api/v1/tenants/current").status_code == 200
    later = timezone.now() + timedelta(days=1)
    monkeypatch.setattr("billing_project.api.authentication.aware_utcnow", lambda: later)
    error = assert_error(api_client.get("/api/v1/tenants/current"), 401, "authentication_failed")
    assert "expired" in error["message"].lower()


def test_removed_member_loses_access_before_the_token_expires(api_client, tenant):
    user = User.objects.create_user(
        email=f"leaver-{uuid.uuid4().hex[:6]}@acme.test", password=DEMO_PASSWORD
    )
    membership = Membership.objects.create(user=user, tenant=tenant, role=Role.BILLING_ADMIN)
    token = login(api_client, user.email).json()["access_token"]
    membership.delete()
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert_error(api_client.get("/api/v1/tenants/current"), 401, "authentication_failed")


def test_platform_staff_token_carries_no_tenant(api_client, finance_staff):
    body = login(api_client, finance_staff.email).json()
    assert AccessToken(body["access_token"])["tenant_id"] is None


def test_user_without_membership_cannot_log_in(api_client):
    user = User.objects.create_user(
        email=f"lonely-{uuid.uuid4().hex[:6]}@x.test", password=DEMO_PASSWORD
    )
    assert_error(login(api_client, user.email), 401, "authentication_failed")


def test_malformed_authorization_header_is_401(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Basic abc")
    assert_error(api_client.get("/api/v1/tenants/current"), 401, "authentication_failed")
    api_client.credentials()
    assert_error(api_client.get("/api/v1/tenants/current"), 401, "authentication_failed")


def test_login_is_never_replayed_from_an_idempotency_key(api_client, owner):
    first = api_client.post(
        LOGIN,
        {"email": owner.email, "password": DEMO_PASSWORD},
        format="json",
        HTTP_IDEMPOTENCY_KEY="same",
    )
    second = api_client.post(
        LOGIN,
        {"email": owner.email, "password": DEMO_PASSWORD},
        format="json",
        HTTP_IDEMPOTENCY_KEY="same",
    )
    assert first.status_code == second.status_code == 200
    assert first.json()["refresh_token"] != second.json()["refresh_token"]
    assert "Idempotent-Replayed" not in second
