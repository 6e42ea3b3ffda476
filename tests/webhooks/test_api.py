"""The webhooks API as an integration uses it: endpoints (owners write, billing admins read), the
secret shown once, test events, the delivery log, retry and replay, the event log; another tenant's
ids are 404s."""

import pytest
from django_tenants.utils import tenant_context

from tests.conftest import assert_error
from webhooks.models import WebhookDelivery

pytestmark = pytest.mark.django_db


def _create(client, url, **extra):
    return client.post(
        "/api/v1/webhook-endpoints", {"url": url, "description": "erp", **extra}, format="json"
    )


def test_owner_creates_lists_changes_and_deletes_an_endpoint(owner_client, receiver):
    response = _create(owner_client, receiver.url, enabled_events=["invoice.paid", "invoice.paid"])
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["secret"].startswith("whsec_") and body["enabled_events"] == ["invoice.paid"]
    endpoint_id = body["webhook_endpoint_id"]

    listed = owner_client.get("/api/v1/webhook-endpoints").json()
    assert [e["webhook_endpoint_id"] for e in listed] == [endpoint_id]
    assert "secret" not in listed[0]  # shown only at creation and rotation

    changed = owner_client.patch(
        f"/api/v1/webhook-endpoints/{endpoint_id}", {"enabled": False}, format="json"
    )
    assert changed.status_code == 200 and changed.json()["enabled"] is False
    assert changed.json()["enabled_events"] == ["invoice.paid"]  # left out: kept

    assert owner_client.delete(f"/api/v1/webhook-endpoints/{endpoint_id}").status_code == 204
    assert_error(owner_client.get(f"/api/v1/webhook-endpoints/{endpoint_id}"), 404, "not_found")


@pytest.mark.parametrize(
    "body, field",
    [
        ({"url": "https://127.0.0.1/hooks"}, "url"),
        ({"url": "https://169.254.169.254/latest/meta-data/"}, "url"),
        ({"url": "https://10.0.0.5/hooks"}, "url"),
        ({"url": "ftp://example.com/hooks"}, "url"),
        ({"url": "https://example.com/h", "enabled_events": ["invoice.nope"]}, "enabled_events"),
        ({"url": "https://example.com/h", "enabled_events": []}, "enabled_events"),
        ({"url": "https://example.com/h", "colour": "red"}, "colour"),
    ],
)
def test_bad_endpoints_are_400_with_the_field(owner_client, body, field, settings):
    settings.OUTBOUND_ALLOW_HTTP = False
    settings.OUTBOUND_DEV_LOOPBACK = False
    error = assert_error(
        owner_client.post("/api/v1/webhook-endpoints", body, format="json"), 400, "invalid_request"
    )
    assert field in (error["detail"] or {}), error


def test_billing_admin_reads_viewer_sees_nothing_only_owners_write(
    owner_client, client_for, billing_admin, viewer_client, receiver
):
    endpoint_id = _create(owner_client, receiver.url).json()["webhook_endpoint_id"]
    admin = client_for(billing_admin)
    assert admin.get(f"/api/v1/webhook-endpoints/{endpoint_id}").status_code == 200
    assert admin.get(f"/api/v1/webhook-endpoints/{endpoint_id}/deliveries").status_code == 200
    assert_error(_create(admin, receiver.url), 403, "permission_denied")
    assert_error(
        admin.post(f"/api/v1/webhook-endpoints/{endpoint_id}/rotate-secret"),
        403,
        "permission_denied",
    )
    assert_error(viewer_client.get("/api/v1/webhook-endpoints"), 403, "permission_denied")


def test_send_test_event_is_delivered_signed_and_logged(
    owner_client, receiver, tenant, flush, django_capture_on_commit_callbacks
):
    created = _create(owner_client, receiver.url).json()
    receiver.verify_with(created["secret"])
    endpoint_id = created["webhook_endpoint_id"]
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(f"/api/v1/webhook-endpoints/{endpoint_id}/test")
    assert response.status_code == 201 and response.json()["event_type"] == "webhook.test"
    with tenant_context(tenant):
        endpoint = WebhookDelivery.objects.get().endpoint
    flush(tenant, endpoint)

    [request] = receiver.requests
    assert request["verified"] == {created["secret"]: True}
    assert request["json"]["type"] == "webhook.test"
    [logged] = owner_client.get(f"/api/v1/webhook-endpoints/{endpoint_id}/deliveries").json()
    assert logged["status"] == "delivered" and logged["response_status"] == 200
    assert logged["attempts"] == 1 and logged["latency_ms"] is not None
    assert logged["response_body"] == "ok"

    event = owner_client.get(f"/api/v1/events/{logged['event_id']}").json()
    assert event == request["json"]
    assert [e["id"] for e in owner_client.get("/api/v1/events").json()] == [logged["event_id"]]


def test_retry_and_replay_send_failed_deliveries_again(
    owner_client, receiver, tenant, flush, django_capture_on_commit_callbacks, settings
):
    created = _create(owner_client, receiver.url).json()
    endpoint_id = created["webhook_endpoint_id"]
    receiver.statuses = [500]
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(f"/api/v1/webhook-endpoints/{endpoint_id}/test")
        owner_client.post(f"/api/v1/webhook-endpoints/{endpoint_id}/test")
    with tenant_context(tenant):
        endpoint = WebhookDelivery.objects.first().endpoint
        WebhookDelivery.objects.update(status="failed", next_attempt_at=None)
    flush(tenant, endpoint)
    assert receiver.requests == []  # failed for good: nothing is due

    receiver.statuses = [200]
    deliveries = owner_client.get(
        f"/api/v1/webhook-endpoints/{endpoint_id}/deliveries?status=failed"
    ).json()
    assert len(deliveries) == 2
    with django_capture_on_commit_callbacks(execute=True):
        retried = owner_client.post(
            f"/api/v1/webhook-endpoints/{endpoint_id}/deliveries/{deliveries[0]['delivery_id']}/retry"
        )
    assert retried.status_code == 200 and retried.json()["status"] == "pending"
    flush(tenant, endpoint)
    assert len(receiver.requests) == 1

    with django_capture_on_commit_callbacks(execute=True):
        replay = owner_client.post(
            f"/api/v1/webhook-endpoints/{endpoint_id}/replay",
            {"since": "2020-01-01T00:00:00Z"},
            format="json",
        )
    assert replay.json() == {"replayed": 1}
    flush(tenant, endpoint)
    assert len(receiver.requests) == 2
    statuses = {
        d["status"]
        for d in owner_client.get(f"/api/v1/webhook-endpoints/{endpoint_id}/deliveries").json()
    }
    assert statuses == {"delivered"}
    assert_error(
        owner_client.post(f"/api/v1/webhook-endpoints/{endpoint_id}/replay", {}, format="json"),
        400,
        "invalid_request",
    )


def test_another_tenant_never_sees_endpoints_events_or_deliveries(
    owner_client, other_owner, client_for, receiver, tenant, django_capture_on_commit_callbacks
):
    created = _create(owner_client, receiver.url).json()
    endpoint_id = created["webhook_endpoint_id"]
    with django_capture_on_commit_callbacks(execute=True):
        delivery = owner_client.post(f"/api/v1/webhook-endpoints/{endpoint_id}/test").json()
    globex = client_for(other_owner)
    assert globex.get("/api/v1/webhook-endpoints").json() == []
    assert globex.get("/api/v1/events").json() == []
    for url in (
        f"/api/v1/webhook-endpoints/{endpoint_id}",
        f"/api/v1/webhook-endpoints/{endpoint_id}/deliveries",
        f"/api/v1/events/{delivery['event_id']}",
    ):
        assert_error(globex.get(url), 404, "not_found")
    assert_error(
        globex.post(
            f"/api/v1/webhook-endpoints/{endpoint_id}/deliveries/{delivery['delivery_id']}/retry"
        ),
        404,
        "not_found",
    )
    assert_error(globex.delete(f"/api/v1/webhook-endpoints/{endpoint_id}"), 404, "not_found")
