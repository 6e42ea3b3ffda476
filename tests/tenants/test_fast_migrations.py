"""Fast tenant migrations: schemas that lack the same schema-editor-only migrations get the SQL
collected once, and end up exactly like schemas migrated by Django's executor
(billing_project.tenant_migrations.fast_migrate)."""

import importlib
import sys
import uuid
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from billing_project import tenant_migrations
from billing_project.tenant_migrations import (
    FastMigrationError,
    applied_migrations,
    disk_migrations,
    fast_migrate,
)
from tenants import services
from tests.tenants.test_provisioning import _catalog

pytestmark = pytest.mark.django_db(transaction=False)

ADD_COLUMN = """
        migrations.AddField(
            model_name="delivery",
            name="fast_note",
            field=models.CharField(max_length=40, null=True, blank=True, unique=True),
        ),
        migrations.AddIndex(
            model_name="delivery",
            index=models.Index(fields=["kind", "fast_note"], name="delivery_kind_fast_note"),
        ),
"""
RUN_PYTHON = """
        migrations.RunPython(lambda apps, schema_editor: None, migrations.RunPython.noop),
"""


@pytest.fixture
def add_migration(tmp_path, settings):
    """Point the notifications app at a copy of its migrations plus one more (the operations given);
    returns the new migration's key."""
    original = Path(importlib.import_module("notifications.migrations").__file__).parent
    module = f"fastmig_{uuid.uuid4().hex[:8]}"
    made = []

    def add(operations: str) -> tuple[str, str]:
        leaf = max(n for a, n in MigrationLoader(None).graph.leaf_nodes() if a == "notifications")
        package = tmp_path / module
        package.mkdir()
        for source in original.glob("*.py"):
            (package / source.name).write_text(source.read_text())
        name = "9000_fast_test"
        (package / f"{name}.py").write_text(
            "from django.db import migrations, models\n\n\n"
            "class Migration(migrations.Migration):\n"
            f"    dependencies = [('notifications', {leaf!r})]\n"
            f"    operations = [{operations}]\n"
        )
        sys.path.insert(0, str(tmp_path))
        settings.MIGRATION_MODULES = {"notifications": module}
        disk_migrations.cache_clear()
        made.append(module)
        return ("notifications", name)

    yield add
    disk_migrations.cache_clear()
    if made:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m == module or m.startswith(module + ".")]:
            del sys.modules[name]


def _columns(schema: str, table: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = %s AND table_name = %s",
            [schema, table],
        )
        return {row[0] for row in cursor.fetchall()}


def _new_schemas(*slugs: str) -> list[str]:
    # New tenants, not the session's: sequences (django_migrations' ids) do not roll back.
    return [
        services.tenant_create(name=slug, slug=slug, email=f"b@{slug}.test").schema_name
        for slug in slugs
    ]


def _migrate_normally(schema: str, monkeypatch) -> None:
    with monkeypatch.context() as patch:
        patch.setattr(tenant_migrations, "fast_migrate", lambda schemas, **kwargs: schemas)
        call_command(
            "migrate_schemas", schema_name=schema, tenant=True, interactive=False, verbosity=0
        )
    connection.set_schema_to_public()


def test_fast_path_gives_the_schema_the_executor_gives(add_migration, monkeypatch):
    first, second, third = _new_schemas("initech", "hooli", "vandelay")
    before = _catalog(first)
    key = add_migration(ADD_COLUMN)

    _migrate_normally(third, monkeypatch)
    assert fast_migrate([first, second]) == []

    reference = _catalog(third)
    assert "fast_note" in _columns(third, "notifications_delivery")
    assert reference != before
    for schema in (first, second):
        assert _catalog(schema) == reference
        assert key in applied_migrations(schema)
    # Up to date now: nothing left to do.
    assert tenant_migrations.schemas_behind([first, second]) == []


def test_migrate_schemas_takes_the_fast_path(add_migration, monkeypatch):
    schemas = _new_schemas("initech", "hooli")
    key = add_migration(ADD_COLUMN)
    executed = []
    real = tenant_migrations.run_migrations
    monkeypatch.setattr(
        tenant_migrations,
        "run_migrations",
        lambda args, options, codename, schema, **kw: (
            executed.append(schema) or real(args, options, codename, schema, **kw)
        ),
    )

    for schema in schemas:  # one by one: the session's tenants must not be migrated (sequences)
        call_command(
            "migrate_schemas", schema_name=schema, tenant=True, interactive=False, verbosity=0
        )
        connection.set_schema_to_public()

    assert executed == []  # no schema went through Django's executor
    for schema in schemas:
        assert key in applied_migrations(schema)
        assert "fast_note" in _columns(schema, "notifications_delivery")


def test_run_python_takes_the_normal_path(add_migration):
    schemas = _new_schemas("initech", "hooli")
    key = add_migration(ADD_COLUMN + RUN_PYTHON)

    assert fast_migrate(schemas) == schemas
    assert key not in applied_migrations(schemas[0])
    assert "fast_note" not in _columns(schemas[0], "notifications_delivery")

    for schema in schemas:
        call_command(
            "migrate_schemas", schema_name=schema, tenant=True, interactive=False, verbosity=0
        )
        connection.set_schema_to_public()
        assert key in applied_migrations(schema)
        assert "fast_note" in _columns(schema, "notifications_delivery")


def test_a_failing_schema_is_reported_and_not_marked_applied(add_migration):
    good, bad = _new_schemas("initech", "hooli")
    key = add_migration(ADD_COLUMN)
    with connection.cursor() as cursor:
        # The column exists already in one schema: its ADD COLUMN fails.
        cursor.execute(f'ALTER TABLE "{bad}".notifications_delivery ADD COLUMN fast_note int')

    with pytest.raises(FastMigrationError) as failed:
        fast_migrate([good, bad])

    assert set(failed.value.failures) == {bad}
    assert failed.value.left == []
    assert "fast_note" in failed.value.failures[bad]
    assert key in applied_migrations(good)
    assert key not in applied_migrations(bad)
    # Rolled back whole: the unique constraint and the index were not left behind either.
    indexes = _catalog(bad)["indexes"]
    assert [index for index in indexes if "fast_note" in index[1]] == []
