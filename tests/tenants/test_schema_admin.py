"""The admin's pages over tenant-schema tables share one tenant picker (tenants.schema_admin): the
usage pages kept their own choice and named the tenant only in their title, so the notifications
and webhooks logs opened on another tenant than the one just chosen."""

import pytest

pytestmark = pytest.mark.django_db

PAGES = (
    "/admin/usage/usageevent/",
    "/admin/usage/meter/",
    "/admin/notifications/delivery/",
    "/admin/webhooks/webhookendpoint/",
    "/admin/webhooks/webhookdelivery/",
)


def test_one_tenant_choice_serves_every_tenant_schema_page(admin_client, tenant, other_tenant):
    assert admin_client.get("/admin/usage/usageevent/?tenant=globex").status_code == 200
    for url in PAGES:
        page = admin_client.get(url).content.decode()
        assert '<option value="globex" selected>' in page, url
        assert '<option value="acme">' in page, url
    admin_client.get("/admin/webhooks/event/?tenant=acme")
    for url in PAGES:
        assert '<option value="acme" selected>' in admin_client.get(url).content.decode(), url


def test_an_unknown_tenant_falls_back_to_the_first(admin_client, tenant, other_tenant):
    page = admin_client.get("/admin/notifications/delivery/?tenant=nope").content.decode()
    assert '<option value="acme" selected>' in page
