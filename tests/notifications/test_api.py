"""GET /notifications, POST /notifications/{id}/read, preferences and test sends over the API."""

import pytest

from tests.conftest import assert_error
from tests.notifications.conftest import PAYMENT_FAILED

pytestmark = pytest.mark.django_db


def test_list_is_newest_first_with_deliveries_per_channel_and_can_be_marked_read(
    tenant, emit, owner_client, viewer_client, mailoutbox
):
    emit(tenant, "payment_failed", "in_70", "payment_failed:in_70:1", PAYMENT_FAILED)
    emit(tenant, "payment_succeeded", "in_71", None, {"amount": 2900, "currency": "usd"})

    response = owner_client.get("/api/v1/notifications")
    assert response.status_code == 200
    first, second = response.json()
    assert [first["kind"], second["kind"]] == ["payment_succeeded", "payment_failed"]
    assert set(second) == {
        "notification_id",
        "kind",
        "title",
        "body",
        "created",
        "read",
        "deliveries",
    }
    assert second["title"] == "Payment of $1,234.50 failed" and second["read"] is False
    assert {(d["channel"], d["recipient"], d["status"]) for d in second["deliveries"]} == {
        ("email", "owner@acme.test", "sent"),
        ("email", "admin@acme.test", "sent"),
    }
    assert second["created"].endswith("Z")

    read = viewer_client.post(f"/api/v1/notifications/{second['notification_id']}/read")
    assert read.status_code == 200 and read.json()["read"] is True
    assert [n["read"] for n in owner_client.get("/api/v1/notifications").json()] == [False, True]


def test_another_tenants_notification_is_not_found(
    tenant, other_tenant, emit, client_for, other_owner, owner_client
):
    emit(other_tenant, "subscription_canceled", "sub_9", None, {})
    globex = client_for(other_owner).get("/api/v1/notifications").json()
    assert len(globex) == 1
    assert owner_client.get("/api/v1/notifications").json() == []
    assert_error(
        owner_client.post(f"/api/v1/notifications/{globex[0]['notification_id']}/read"),
        404,
        "not_found",
    )
    assert_error(owner_client.post("/api/v1/notifications/nope/read"), 404, "not_found")


def test_preferences_have_defaults_and_keep_the_slack_url_secret(
    tenant, owner_client, viewer_client
):
    response = viewer_client.get("/api/v1/notifications/preferences")
    assert response.status_code == 200
    body = response.json()
    assert body["channels"]["payment_failed"] == ["email", "slack", "in_app"]
    assert body["channels"]["payment_retry_scheduled"] == ["in_app"]
    assert body["email_owners"] is True and body["slack_webhook_configured"] is False

    response = owner_client.put(
        "/api/v1/notifications/preferences",
        {
            "channels": {"payment_succeeded": ["in_app"]},
            "extra_emails": ["ap@acme.test"],
            "slack_webhook_url": "https://hooks.slack.com/services/T1/B2/xyz",
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (
        body["channels"]["payment_succeeded"] == ["in_app"]
        and body["channels"]["payment_failed"][0] == "email"
    )
    assert body["extra_emails"] == ["ap@acme.test"] and body["slack_webhook_configured"] is True
    assert "hooks.slack.com" not in response.content.decode()

    assert_error(
        viewer_client.put(
            "/api/v1/notifications/preferences", {"email_owners": False}, format="json"
        ),
        403,
        "permission_denied",
    )
    error = assert_error(
        owner_client.put(
            "/api/v1/notifications/preferences",
            {"channels": {"made_up": ["email"]}, "colour": "red"},
            format="json",
        ),
        400,
        "invalid_request",
    )
    assert "colour" in error["detail"]
    assert_error(
        owner_client.put(
            "/api/v1/notifications/preferences",
            {"channels": {"payment_failed": ["pager"]}},
            format="json",
        ),
        400,
        "invalid_request",
    )
    assert_error(
        owner_client.put(
            "/api/v1/notifications/preferences",
            {"slack_webhook_url": "ftp://example.com/x"},
            format="json",
        ),
        400,
        "invalid_request",
    )


def test_send_a_test_notification(
    tenant,
    eager,
    tenant_slack,
    owner_client,
    viewer_client,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post("/api/v1/notifications/test", {}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["kind"] == "test"
    assert sorted(m.to[0] for m in mailoutbox) == ["admin@acme.test", "owner@acme.test"]
    assert mailoutbox[0].subject == "Test notification · Acme Corp"
    assert tenant_slack.received[0]["json"]["text"].startswith("Test notification")
    assert_error(
        viewer_client.post("/api/v1/notifications/test", {}, format="json"),
        403,
        "permission_denied",
    )
