"""Fast tenant migrations: only schemas that lack a migration are migrated, in parallel.

A tenant schema only runs the migrations of TENANT_APPS; django-tenants' router turns every other
app's operations into no-ops there, yet Django still renders the whole project state (dj-stripe
alone has hundreds of models) for each schema, for a second or more per tenant even when nothing
is to be done. So:
- migrations of shared-only apps are recorded as applied in a tenant schema directly (exactly what
  running them would do: nothing but the django_migrations row);
- a schema whose django_migrations already holds every migration on disk is skipped;
- the rest go to django-tenants' multiprocessing executor.
A no-op `migrate_schemas` over 1,000 tenants is then one small query per schema (bench/tenants.py).
"""

from functools import lru_cache

from django.conf import settings
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django_tenants.migration_executors import get_executor as tenants_get_executor
from django_tenants.migration_executors.base import run_migrations
from django_tenants.migration_executors.multiproc import MultiprocessingExecutor
from django_tenants.utils import get_public_schema_name


@lru_cache(maxsize=1)
def disk_migrations() -> tuple[frozenset, frozenset]:
    """(tenant-app migrations, shared-only-app migrations) as sets of (app_label, name)."""
    tenant_apps = {app.rsplit(".", 1)[-1] for app in settings.TENANT_APPS}
    keys = set(MigrationLoader(None, ignore_no_migrations=True).disk_migrations)
    tenant = frozenset(k for k in keys if k[0] in tenant_apps)
    return tenant, frozenset(keys - tenant)


def _quoted(schema: str) -> str:
    return '"' + schema.replace('"', '""') + '"'


def applied_migrations(schema: str) -> set[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [f"{_quoted(schema)}.django_migrations"])
        if cursor.fetchone()[0] is None:
            return set()
        cursor.execute(f"SELECT app, name FROM {_quoted(schema)}.django_migrations")
        return set(cursor.fetchall())


def record_shared_only_migrations(schema: str, applied: set | None = None) -> int:
    """Record shared-only apps' migrations as applied in a tenant schema. Returns rows added."""
    applied = applied_migrations(schema) if applied is None else applied
    if not applied:
        return 0  # no django_migrations table yet: the first real migrate creates it
    missing = sorted(disk_migrations()[1] - applied)
    if missing:
        with connection.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {_quoted(schema)}.django_migrations (app, name, applied) VALUES (%s, %s, now())",
                missing,
            )
    return len(missing)


def schemas_behind(schemas) -> list[str]:
    """The schemas that lack a tenant-app migration (after recording the shared-only ones)."""
    tenant_keys = disk_migrations()[0]
    behind = []
    for schema in schemas:
        applied = applied_migrations(schema)
        record_shared_only_migrations(schema, applied)
        if not tenant_keys <= applied:
            behind.append(schema)
    return behind


class SkipUpToDateExecutor(MultiprocessingExecutor):
    """Multiprocessing executor that leaves up-to-date tenant schemas alone."""

    codename = "parallel"

    def _targeted(self) -> bool:
        # Rollbacks, fakes, plans and checks must see every schema.
        opts = self.options
        return bool(
            opts.get("app_label")
            or opts.get("migration_name")
            or opts.get("fake")
            or opts.get("plan")
            or opts.get("check_unapplied")
            or opts.get("fake_initial")
        )

    def run_migrations(self, tenants=None):
        tenants = list(tenants or [])
        public = get_public_schema_name()
        if public in tenants:
            run_migrations(self.args, self.options, self.codename, public)
            tenants.remove(public)
        if not tenants:
            return
        if not self._targeted():
            connection.set_schema_to_public()
            tenants = schemas_behind(tenants)
        if len(tenants) == 1:
            run_migrations(self.args, self.options, self.codename, tenants[0])
        elif tenants:
            super().run_migrations(tenants)


def get_executor(codename=None):
    """GET_EXECUTOR_FUNCTION of django-tenants: ours by default (and as `parallel`); django-tenants'
    own executors when asked for by name (`--executor=multiprocessing`, `subprocess`)."""
    if codename in (None, "", "parallel", "standard"):
        return SkipUpToDateExecutor
    return tenants_get_executor(codename)
