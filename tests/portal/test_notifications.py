"""Notifications: the in-app list, mark as read, and the tenant's notification settings."""

import pytest
from django_tenants.utils import tenant_context

from notifications.models import Notification
from notifications.selectors import preference_get

pytestmark = pytest.mark.django_db


@pytest.fixture
def unread(tenant):
    with tenant_context(tenant):
        return Notification.objects.create(
            kind="payment_failed",
            title="Payment of 29.00 USD failed",
            body="We will retry on Friday.",
            dedup_key="portal-test",
        )


def settings_form(**changes) -> dict:
    data = {
        "email_owners": "on",
        "email_billing_admins": "on",
        "extra_emails": "",
        "slack_webhook_url": "",
        "channels_payment_failed": ["email", "in_app"],
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def test_members_see_the_in_app_list(viewer_portal, unread):
    html = viewer_portal.get("/notifications/").content.decode()
    assert "Payment of 29.00 USD failed" in html and "We will retry on Friday." in html
    assert "/read/" not in html  # a viewer reads only


def test_marking_a_notification_read(admin_portal, unread, tenant):
    response = admin_portal.post(f"/notifications/{unread.pk}/read/")
    assert response.status_code == 302
    with tenant_context(tenant):
        unread.refresh_from_db()
    assert unread.read_at is not None


def test_an_owner_changes_the_settings(owner_portal, tenant):
    response = owner_portal.post(
        "/notifications/",
        settings_form(
            email_owners=None,
            extra_emails="Finance@Acme.test\nceo@acme.test",
            channels_payment_failed=["in_app"],
        ),
    )
    assert response.status_code == 302
    preference = preference_get(tenant=tenant)
    assert preference.email_owners is False and preference.email_billing_admins is True
    assert preference.extra_emails == ["finance@acme.test", "ceo@acme.test"]
    assert preference.channels["payment_failed"] == ["in_app"]
    assert preference.channels["trial_ending"] == []  # every box unticked is a choice too
    assert (
        "Your notification settings were saved."
        in owner_portal.get("/notifications/").content.decode()
    )


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"extra_emails": "not-an-address"}, "extra_emails"),
        (
            {"slack_webhook_url": "http://hooks.example.com/x"},
            "slack_webhook_url",
        ),  # the service wants https
    ],
)
def test_bad_settings_are_field_errors(owner_portal, changes, field):
    response = owner_portal.post("/notifications/", settings_form(**changes))
    assert response.status_code == 400
    assert f'id="id_{field}_error"' in response.content.decode()


def test_a_viewer_cannot_change_anything(viewer_portal, unread):
    assert viewer_portal.post("/notifications/", settings_form()).status_code == 403
    assert viewer_portal.post(f"/notifications/{unread.pk}/read/").status_code == 403
