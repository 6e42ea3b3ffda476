"""Schema isolation: a tenant-app table holds each tenant's rows in its own schema."""

import pytest
from django.db import connection
from django_tenants.utils import tenant_context

from notifications.models import Notification
from tests.conftest import token_for

pytestmark = pytest.mark.django_db


def test_rows_of_one_tenant_are_invisible_to_another(tenant, other_tenant):
    with tenant_context(tenant):
        Notification.objects.create(kind="test", title="acme only")
    with tenant_context(other_tenant):
        assert Notification.objects.count() == 0
        Notification.objects.create(kind="test", title="globex only")
    with tenant_context(tenant):
        assert list(Notification.objects.values_list("title", flat=True)) == ["acme only"]


def test_public_schema_has_no_tenant_tables():
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('public.notifications_notification')")
        assert cursor.fetchone()[0] is None


def test_api_request_runs_in_the_credential_tenants_schema(
    api_client, owner, other_owner, monkeypatch
):
    seen = []
    from tenants.api import views

    original = views.CurrentTenantApi.get

    def spy(self, request):
        seen.append(connection.schema_name)
        return original(self, request)

    monkeypatch.setattr(views.CurrentTenantApi, "get", spy)
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(owner)}")
    assert api_client.get("/api/v1/tenants/current").json()["slug"] == "acme"
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(other_owner)}")
    assert api_client.get("/api/v1/tenants/current").json()["slug"] == "globex"
    assert seen == ["t_acme", "t_globex"]
    # Nothing after the request runs in a tenant's schema by accident.
    assert connection.schema_name == "public"
