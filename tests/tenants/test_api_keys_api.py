"""Per-tenant API keys: shown once, stored hashed, revocable, with roles."""

import hashlib

import pytest

from tenants.models import ApiKey
from tests.conftest import assert_error

pytestmark = pytest.mark.django_db

KEYS = "/api/v1/api-keys"


def create_key(client, role="billing_admin", name="ci"):
    response = client.post(KEYS, {"name": name, "role": role}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_key_is_shown_once_and_stored_hashed(owner_client, tenant):
    body = create_key(owner_client)
    assert set(body) == {"api_key_id", "name", "role", "prefix", "key", "created"}
    # The prefix is the key's leading part as its holder sees it (issue 15): a listed key matches the key in hand.
    assert body["prefix"].startswith("bk_") and body["key"].startswith(f"{body['prefix']}_")
    stored = ApiKey.objects.get(id=body["api_key_id"])
    assert stored.tenant == tenant
    assert stored.key_hash == hashlib.sha256(body["key"].encode()).hexdigest()
    assert body["key"] not in str(ApiKey.objects.filter(pk=stored.pk).values().get())
    listed = owner_client.get(KEYS).json()
    assert body["api_key_id"] in [k["api_key_id"] for k in listed]
    [mine] = [k for k in listed if k["api_key_id"] == body["api_key_id"]]
    assert mine["prefix"] == body["prefix"] and body["key"].startswith(mine["prefix"] + "_")
    assert all("key" not in k for k in listed)


@pytest.mark.parametrize("header", ["bearer", "x-api-key"])
def test_key_authenticates_as_its_tenant_with_either_header(owner_client, api_client, header):
    key = create_key(owner_client, role="viewer")["key"]
    if header == "bearer":
        api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    else:
        api_client.credentials(HTTP_X_API_KEY=key)
    response = api_client.get("/api/v1/tenants/current")
    assert response.status_code == 200
    assert response.json()["slug"] == "acme"
    assert ApiKey.objects.get(prefix=key.split("_")[1]).last_used_at is not None


def test_revoked_key_stops_working(owner_client, api_client):
    body = create_key(owner_client)
    api_client.credentials(HTTP_X_API_KEY=body["key"])
    assert api_client.get("/api/v1/tenants/current").status_code == 200
    assert owner_client.delete(f"{KEYS}/{body['api_key_id']}").status_code == 204
    assert_error(api_client.get("/api/v1/tenants/current"), 401, "authentication_failed")
    assert body["api_key_id"] not in [k["api_key_id"] for k in owner_client.get(KEYS).json()]


def test_a_tampered_secret_with_a_real_prefix_is_rejected(owner_client, api_client):
    key = create_key(owner_client)["key"]
    api_client.credentials(HTTP_X_API_KEY=key[:-2] + ("AA" if not key.endswith("AA") else "BB"))
    assert_error(api_client.get("/api/v1/tenants/current"), 401, "authentication_failed")


def test_only_owners_manage_keys(client_for, billing_admin, viewer):
    for user in (billing_admin, viewer):
        client = client_for(user)
        assert_error(
            client.post(KEYS, {"name": "x", "role": "viewer"}, format="json"),
            403,
            "permission_denied",
        )
        assert_error(client.get(KEYS), 403, "permission_denied")


def test_viewer_key_cannot_write_and_ingest_key_cannot_read_tenant(owner_client, api_client):
    viewer_key = create_key(owner_client, role="viewer")["key"]
    api_client.credentials(HTTP_X_API_KEY=viewer_key)
    assert_error(
        api_client.post(KEYS, {"name": "x", "role": "viewer"}, format="json"),
        403,
        "permission_denied",
    )
    ingest_key = create_key(owner_client, role="ingest")["key"]
    api_client.credentials(HTTP_X_API_KEY=ingest_key)
    assert_error(api_client.get("/api/v1/tenants/current"), 403, "permission_denied")


def test_invalid_role_is_400(owner_client):
    error = assert_error(
        owner_client.post(KEYS, {"name": "x", "role": "platform"}, format="json"),
        400,
        "invalid_request",
    )
    assert "role" in error["detail"]


def test_another_tenants_key_is_404(owner_client, client_for, other_owner):
    body = create_key(client_for(other_owner))
    assert_error(owner_client.delete(f"{KEYS}/{body['api_key_id']}"), 404, "not_found")
    assert_error(owner_client.delete(f"{KEYS}/not-a-uuid"), 404, "not_found")
    assert ApiKey.objects.get(id=body["api_key_id"]).revoked_at is None


def test_idempotency_key_replays_the_first_response_and_creates_once(owner_client, tenant):
    before = ApiKey.objects.filter(tenant=tenant).count()
    first = owner_client.post(
        KEYS, {"name": "once", "role": "viewer"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    second = owner_client.post(
        KEYS, {"name": "once", "role": "viewer"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    assert first.status_code == second.status_code == 201
    # The replay is the first response without the secret, which is shown once (issue 14).
    assert second.json() == {**first.json(), "key": None}
    assert second["Idempotent-Replayed"] == "true"
    assert ApiKey.objects.filter(tenant=tenant).count() == before + 1
    conflict = owner_client.post(
        KEYS, {"name": "other", "role": "viewer"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    assert_error(conflict, 409, "idempotency_conflict")


def test_failed_request_does_not_burn_the_idempotency_key(owner_client):
    bad = owner_client.post(
        KEYS, {"name": "x", "role": "nope"}, format="json", HTTP_IDEMPOTENCY_KEY="k-2"
    )
    assert bad.status_code == 400
    good = owner_client.post(
        KEYS, {"name": "x", "role": "viewer"}, format="json", HTTP_IDEMPOTENCY_KEY="k-2"
    )
    assert good.status_code == 201


def test_idempotency_keys_are_scoped_per_tenant(owner_client, client_for, other_owner):
    a = owner_client.post(
        KEYS, {"name": "n", "role": "viewer"}, format="json", HTTP_IDEMPOTENCY_KEY="shared"
    )
    b = client_for(other_owner).post(
        KEYS, {"name": "n", "role": "viewer"}, format="json", HTTP_IDEMPOTENCY_KEY="shared"
    )
    assert a.status_code == b.status_code == 201
    assert a.json()["api_key_id"] != b.json()["api_key_id"]
