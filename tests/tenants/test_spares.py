"""Spare tenant schemas: provisioning renames a clone made ahead, and never one of another
migration state (tenants.services.spares)."""

import pytest
from django.db import connection, transaction
from django_tenants.utils import schema_context, schema_exists

from billing_project.tenant_migrations import applied_migrations, disk_migrations
from tenants import schema_clone, services
from tenants.models import Tenant
from tenants.services import spares
from tenants.services.provisioning import tenant_spares_refill
from tests.tenants.test_provisioning import _catalog

pytestmark = pytest.mark.django_db(transaction=False)


@pytest.fixture(autouse=True)
def _no_spare_before():
    """Each test starts with no spare, whatever ran before it in this database (a live server's
    refill, say, under pytest-xdist's distribution): dropped in the test's transaction, so the
    rollback puts them back."""
    with connection.cursor() as cursor:
        for name in spares.spare_list():
            cursor.execute(f'DROP SCHEMA "{name}" CASCADE')


def test_refill_makes_spares_and_provisioning_takes_one(tenant):
    assert tenant_spares_refill(count=2) == 2
    assert tenant_spares_refill(count=2) == 0  # already ready
    ready = spares.spare_list()
    assert len(ready) == 2

    services.tenant_create(name="Initech", slug="initech", email="b@initech.test")

    left = spares.spare_list()
    assert len(left) == 1 and set(left) < set(ready)
    assert schema_exists("t_initech")
    # A full, migrated tenant schema, exactly what an inline clone (the fixture's tenant) is.
    new = Tenant.objects.get(slug="initech")
    tenant_keys, shared_keys = disk_migrations()
    assert tenant_keys | shared_keys <= applied_migrations(new.schema_name)
    assert _catalog(new.schema_name) == _catalog(tenant.schema_name)
    with schema_context(new.schema_name), connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM usage_usageevent")
        assert cursor.fetchone()[0] == 0


def test_without_a_spare_provisioning_clones_inline(tenant):
    assert spares.spare_list() == []
    new = services.tenant_create(name="Hooli", slug="hooli", email="b@hooli.test")
    assert _catalog(new.schema_name) == _catalog(tenant.schema_name)


def test_a_spare_of_another_migration_state_is_never_taken_and_the_refill_drops_it():
    stale = "spare_0000000000_stale"
    schema_clone.clone_schema("tenant_template", stale)

    tenant = services.tenant_create(name="Umbrella", slug="umbrella", email="b@umbrella.test")

    assert schema_exists(stale)  # the tenant got a fresh clone instead
    assert tenant.schema_name == "t_umbrella" and schema_exists("t_umbrella")
    assert tenant_spares_refill(count=1) == 1
    assert not schema_exists(stale)
    assert [
        name.startswith(f"spare_{spares.spare_version()}_") for name in spares.spare_list()
    ] == [True]


def test_a_failed_provisioning_leaves_the_spare_for_the_next_tenant():
    tenant_spares_refill(count=1)
    (spare,) = spares.spare_list()
    with pytest.raises(RuntimeError), transaction.atomic():
        assert spares.spare_claim(schema_name="t_rolled_back")
        raise RuntimeError("provisioning failed after the rename")
    assert spares.spare_list() == [spare]
    assert not schema_exists("t_rolled_back")
