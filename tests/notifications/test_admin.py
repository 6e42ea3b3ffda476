"""The finance back-office: delivery log per tenant with filters, resend, test send, platform Slack."""

import pytest
from django.test import Client
from django_tenants.utils import tenant_context

from notifications.models import Delivery
from tests.notifications.conftest import PAYMENT_FAILED

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(db):
    from tenants.models import User

    user = User.objects.create_superuser(email="root@platform.test", password="correct-horse-9")
    client = Client()
    client.force_login(user)
    return client


def test_delivery_log_filters_and_resend(
    tenant, other_tenant, emit, admin_client, mailoutbox, django_capture_on_commit_callbacks
):
    emit(tenant, "payment_failed", "in_80", "payment_failed:in_80:1", PAYMENT_FAILED)
    emit(other_tenant, "invoice_finalized", "in_81", None, {"amount": 100, "currency": "brl"})

    page = admin_client.get("/admin/notifications/delivery/?tenant=acme&channel__exact=email")
    assert page.status_code == 200
    html = page.content.decode()
    assert (
        "owner@acme.test" in html and "payment_failed" in html and "owner@globex.test" not in html
    )
    page = admin_client.get("/admin/notifications/delivery/?tenant=globex")
    assert (
        "owner@globex.test" in page.content.decode()
        and "owner@acme.test" not in page.content.decode()
    )
    assert (
        "owner@acme.test"
        not in admin_client.get(
            "/admin/notifications/delivery/?tenant=acme&status__exact=failed"
        ).content.decode()
    )

    with tenant_context(tenant):
        delivery = Delivery.objects.get(recipient="owner@acme.test")
    sent_before = len(mailoutbox)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/admin/notifications/delivery/?tenant=acme",
            {"action": "resend", "_selected_action": [delivery.pk]},
        )
    assert response.status_code == 302
    assert len(mailoutbox) == sent_before + 1 and mailoutbox[-1].to == ["owner@acme.test"]
    with tenant_context(tenant):
        delivery.refresh_from_db()
    assert delivery.status == "sent" and delivery.attempts == 1


def test_admin_test_send_and_platform_slack_settings(
    tenant, eager, admin_client, slack, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/admin/notifications/delivery/send-test/?tenant=acme", {"channels": ["email"]}
        )
    assert response.status_code == 302
    assert sorted(m.to[0] for m in mailoutbox) == ["admin@acme.test", "owner@acme.test"]

    url = slack.url("/services/T000/B000/platform")
    response = admin_client.post(
        "/admin/notifications_platform/platformslacksettings/add/",
        {"enabled": "on", "kinds": ["payment_failed"], "webhook_url": url},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    from notifications import selectors

    assert selectors.platform_slack_get() == (url, ["payment_failed"])
    from notifications.platform.models import PlatformSlackSettings

    assert "127.0.0.1" not in PlatformSlackSettings.objects.get().webhook_ciphertext
