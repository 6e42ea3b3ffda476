"""The portal's Webhooks page: an owner adds an endpoint (the secret shown once), presses "Send test
event" and sees the delivery in the log; billing admins read; viewers are kept out."""

import re

import pytest
from django_tenants.utils import tenant_context

from webhooks.models import WebhookEndpoint

pytestmark = pytest.mark.django_db


def test_owner_adds_an_endpoint_sends_a_test_event_and_sees_the_delivery(
    owner_portal, tenant, receiver, flush, django_capture_on_commit_callbacks
):
    page = owner_portal.post(
        "/webhooks/", {"url": receiver.url, "description": "ERP", "all_events": "on"}
    )
    assert page.status_code == 200, page.content
    secret = re.search(r"whsec_[A-Za-z0-9+/=]+", page.content.decode()).group(0)
    receiver.verify_with(secret)
    with tenant_context(tenant):
        endpoint = WebhookEndpoint.objects.get()
    assert endpoint.enabled_events == ["*"]
    assert secret not in owner_portal.get("/webhooks/").content.decode()  # shown once

    with django_capture_on_commit_callbacks(execute=True):
        sent = owner_portal.post(f"/webhooks/{endpoint.endpoint_id}/test/")
    assert sent.status_code == 302
    flush(tenant, endpoint)
    log = owner_portal.get(f"/webhooks/{endpoint.endpoint_id}/").content.decode()
    assert "webhook.test" in log and "Delivered" in log and "200" in log
    assert receiver.requests[0]["verified"] == {secret: True}


def test_a_private_url_is_refused_with_the_reason_on_the_form(owner_portal, tenant, settings):
    settings.OUTBOUND_DEV_LOOPBACK = False
    page = owner_portal.post("/webhooks/", {"url": "https://169.254.169.254/latest/meta-data/"})
    assert page.status_code == 400 and "private or reserved" in page.content.decode()
    with tenant_context(tenant):
        assert not WebhookEndpoint.objects.exists()


def test_billing_admin_reads_only_and_viewer_is_kept_out(
    owner_portal, admin_portal, viewer_portal, tenant, receiver
):
    owner_portal.post("/webhooks/", {"url": receiver.url, "all_events": "on"})
    with tenant_context(tenant):
        endpoint = WebhookEndpoint.objects.get()
    assert admin_portal.get(f"/webhooks/{endpoint.endpoint_id}/").status_code == 200
    assert admin_portal.post(f"/webhooks/{endpoint.endpoint_id}/delete/").status_code == 403
    assert viewer_portal.get("/webhooks/").status_code == 403
    with tenant_context(tenant):
        assert WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()
