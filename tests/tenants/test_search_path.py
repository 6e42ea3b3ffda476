"""The database backend (billing_project.db_backend) sends `SET search_path` only when the schema a
query needs differs from the one the connection has, and every query still reads its own tenant."""

import pytest
from django.db import connection, transaction
from django_tenants.postgresql_backend import base as tenants_backend
from django_tenants.utils import tenant_context

from notifications.models import Notification

pytestmark = pytest.mark.django_db(transaction=False)


@pytest.fixture
def path_sets(monkeypatch):
    """The search paths the backend sent, in order."""
    sent = []
    original = tenants_backend.DatabaseWrapper._handle_search_path

    def spy(self, cursor=None):
        sent.append(list(self._get_cursor_search_paths()))
        return original(self, cursor)

    monkeypatch.setattr(tenants_backend.DatabaseWrapper, "_handle_search_path", spy)
    return sent


def test_each_tenant_reads_its_own_rows_across_switches(tenant, other_tenant):
    with tenant_context(tenant):
        Notification.objects.create(kind="k", title="acme only")
    for _ in range(2):
        with tenant_context(other_tenant):
            assert not Notification.objects.filter(title="acme only").exists()
        with tenant_context(tenant):
            assert Notification.objects.filter(title="acme only").exists()


def test_the_path_is_sent_once_per_change_not_per_query(tenant, other_tenant, path_sets):
    connection.set_tenant(tenant)
    Notification.objects.count()
    # An API request switches to its credential's tenant and back to public: same path, no SET.
    connection.set_schema_to_public()
    connection.set_tenant(tenant)
    Notification.objects.count()
    Notification.objects.count()
    connection.set_tenant(other_tenant)
    Notification.objects.count()
    assert path_sets == [[tenant.schema_name, "public"], [other_tenant.schema_name, "public"]]


def test_after_a_rolled_back_savepoint_the_path_is_sent_again(tenant, other_tenant, path_sets):
    connection.set_tenant(tenant)
    Notification.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        connection.set_tenant(other_tenant)
        Notification.objects.count()
        raise RuntimeError
    # ROLLBACK TO SAVEPOINT undid the SET of other_tenant's path: the backend must not trust it.
    connection.set_tenant(other_tenant)
    assert Notification.objects.count() == 0
    assert path_sets[-1] == [other_tenant.schema_name, "public"]
    assert len(path_sets) == 3
