"""Tenants API: provisioning by the platform, the current tenant, acting on a tenant as staff."""

import pytest
from django.core import mail

from tenants import services
from tenants.models import Tenant
from tests.conftest import assert_error

pytestmark = pytest.mark.django_db

TENANTS = "/api/v1/tenants"


def test_finance_staff_provisions_a_tenant(finance_client):
    response = finance_client.post(
        TENANTS,
        {"name": "Umbrella", "slug": "umbrella", "email": "b@umbrella.test", "locale": "es"},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {
        "tenant_id",
        "name",
        "slug",
        "email",
        "status",
        "locale",
        "portal_url",
        "created",
    }
    assert body["slug"] == "umbrella" and body["status"] == "active" and body["locale"] == "es"
    assert body["portal_url"] == "http://umbrella.localhost:8000/"
    assert body["created"].endswith("Z")
    assert Tenant.objects.get(id=body["tenant_id"]).schema_name == "t_umbrella"


def test_owner_with_password_can_log_in_owner_without_is_invited(
    finance_client, api_client, django_capture_on_commit_callbacks
):
    finance_client.post(
        TENANTS,
        {
            "name": "Soylent",
            "slug": "soylent",
            "email": "b@soylent.test",
            "owner": {"email": "boss@soylent.test", "password": "green-is-people-1"},
        },
        format="json",
    )
    login = api_client.post(
        "/api/v1/auth/login",
        {"email": "boss@soylent.test", "password": "green-is-people-1"},
        format="json",
    )
    assert login.status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = finance_client.post(
            TENANTS,
            {
                "name": "Tyrell",
                "slug": "tyrell",
                "email": "b@tyrell.test",
                "owner": {"email": "eldon@tyrell.test"},
            },
            format="json",
        )
    assert response.status_code == 201
    assert [m.to for m in mail.outbox] == [["eldon@tyrell.test"]]


def test_duplicate_slug_409_invalid_slug_400_unknown_field_400(finance_client):
    assert_error(
        finance_client.post(
            TENANTS, {"name": "A", "slug": "acme", "email": "a@a.test"}, format="json"
        ),
        409,
        "slug_taken",
    )
    error = assert_error(
        finance_client.post(
            TENANTS, {"name": "A", "slug": "Not Valid!", "email": "a@a.test"}, format="json"
        ),
        400,
        "invalid_request",
    )
    assert "slug" in error["detail"]
    error = assert_error(
        finance_client.post(
            TENANTS, {"name": "A", "slug": "fine", "email": "a@a.test", "plan": "x"}, format="json"
        ),
        400,
        "invalid_request",
    )
    assert "plan" in error["detail"]
    assert not Tenant.objects.filter(slug="fine").exists()


def test_platform_api_key_can_provision(api_client):
    _, secret = services.api_key_create(tenant=None, name="provisioner", role="platform")
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    response = api_client.post(
        TENANTS,
        {"name": "Cyberdyne", "slug": "cyberdyne", "email": "b@cyberdyne.test"},
        format="json",
    )
    assert response.status_code == 201


def test_tenant_credentials_cannot_provision_or_list(owner_client):
    assert_error(
        owner_client.post(
            TENANTS, {"name": "X", "slug": "xx-x", "email": "x@x.test"}, format="json"
        ),
        403,
        "permission_denied",
    )
    assert_error(owner_client.get(TENANTS), 403, "permission_denied")


def test_tenant_list_is_a_bare_array_paged_with_a_link_header(finance_client):
    for i in range(3):
        services.tenant_create(name=f"Paged {i}", slug=f"paged-{i}", email="p@p.test")
    seen = []
    url = f"{TENANTS}?limit=2"
    while url:
        response = finance_client.get(url)
        assert response.status_code == 200
        page = response.json()
        assert isinstance(page, list) and len(page) <= 2
        seen += [t["slug"] for t in page]
        link = response.get("Link")
        url = link[link.index("<") + 1 : link.index(">")] if link else None
        if url:
            assert link.endswith('rel="next"')
    assert {"acme", "globex", "paged-0", "paged-1", "paged-2"} <= set(seen)
    assert len(seen) == len(set(seen))
    assert "public" not in seen


@pytest.mark.parametrize("limit", ["0", "abc", "-1"])
def test_bad_limit_is_400(finance_client, limit):
    assert_error(finance_client.get(f"{TENANTS}?limit={limit}"), 400, "invalid_request")


def test_current_tenant_carries_billing_status_and_locale(client_for, other_owner):
    body = client_for(other_owner).get(f"{TENANTS}/current").json()
    assert body["slug"] == "globex"
    assert body["locale"] == "pt-br"
    assert body["billing_status"] == "ok"


def test_staff_act_on_a_tenant_with_x_tenant_id(finance_client, tenant):
    assert (
        finance_client.get(f"{TENANTS}/current", HTTP_X_TENANT_ID="acme").json()["slug"] == "acme"
    )
    assert (
        finance_client.get(f"{TENANTS}/current", HTTP_X_TENANT_ID=tenant.tenant_id).json()["slug"]
        == "acme"
    )
    assert_error(
        finance_client.get(f"{TENANTS}/current", HTTP_X_TENANT_ID="nope"), 404, "not_found"
    )
    assert_error(finance_client.get(f"{TENANTS}/current"), 400, "invalid_request")


def test_tenant_credential_naming_another_tenant_is_403(owner_client, tenant):
    assert_error(
        owner_client.get(f"{TENANTS}/current", HTTP_X_TENANT_ID="globex"), 403, "permission_denied"
    )
    assert owner_client.get(f"{TENANTS}/current", HTTP_X_TENANT_ID="acme").status_code == 200


def test_support_staff_read_but_cannot_do_money_actions(client_for, support_staff):
    client = client_for(support_staff, HTTP_X_TENANT_ID="acme")
    assert client.get(f"{TENANTS}/current").status_code == 200
    assert_error(
        client.post("/api/v1/api-keys", {"name": "x", "role": "viewer"}, format="json"),
        403,
        "permission_denied",
    )


def test_suspended_tenant_is_locked_out(owner_client, tenant):
    Tenant.objects.filter(pk=tenant.pk).update(status=Tenant.Status.SUSPENDED)
    assert_error(owner_client.get(f"{TENANTS}/current"), 401, "authentication_failed")


def test_support_staff_cannot_provision(client_for, support_staff):
    response = client_for(support_staff).post(
        TENANTS, {"name": "S", "slug": "support-made", "email": "s@s.test"}, format="json"
    )
    assert_error(response, 403, "permission_denied")
