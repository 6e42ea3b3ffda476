"""Fast tenant migrations: only schemas that lack a migration are migrated, in parallel.

A tenant schema only runs the migrations of TENANT_APPS; django-tenants' router turns every other
app's operations into no-ops there, yet Django still renders the whole project state (dj-stripe
alone has hundreds of models) for each schema, for a second or more per tenant even when nothing
is to be done. So:
- migrations of shared-only apps are recorded as applied in a tenant schema directly (exactly what
  running them would do: nothing but the django_migrations row);
- a schema whose django_migrations already holds every migration on disk is skipped;
- schemas that lack the same migrations, all made of schema-editor operations only (AddField,
  AlterField, AddIndex, ...: see _SQL_ONLY_OPERATIONS), get the SQL Django collects for them once,
  on the first such schema (`sqlmigrate`'s machinery), run in each schema in its own transaction with
  the schema first on the search path, and the django_migrations rows recorded in that transaction
  (a schema that fails is rolled back, reported, and not marked applied); a few milliseconds per
  schema instead of a rendered project state per schema;
- the rest (RunPython, RunSQL, new or dropped models, custom operations, non-atomic migrations,
  schemas in different states) go to django-tenants' multiprocessing executor.
A no-op `migrate_schemas` over 1,000 tenants is then one small query per schema, and an added column
over 10,000 schemas a few minutes (bench/tenants.py).
"""

import logging
import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django_tenants.migration_executors import get_executor as tenants_get_executor
from django_tenants.migration_executors.base import run_migrations
from django_tenants.migration_executors.multiproc import MultiprocessingExecutor
from django_tenants.utils import get_public_schema_name

logger = logging.getLogger(__name__)


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


# Operations whose whole effect on a tenant schema is the SQL their schema editor emits. Anything
# else takes django-tenants' executor: RunPython and RunSQL (they may read or write rows, or depend on
# what a schema holds), custom or third-party operations (unknown effects), and the operations that
# add, drop or rename a model (Django's post_migrate then updates the schema's django_content_type
# rows, which collected SQL would not).
_SQL_ONLY_OPERATIONS = frozenset(
    {
        "AddField",
        "AlterField",
        "RemoveField",
        "RenameField",
        "AddIndex",
        "RemoveIndex",
        "RenameIndex",
        "AddConstraint",
        "RemoveConstraint",
        "AlterUniqueTogether",
        "AlterIndexTogether",
        "AlterModelTable",
        "AlterModelTableComment",
        "AlterOrderWithRespectTo",
        "AlterModelOptions",
        "AlterModelManagers",
    }
)


class FastMigrationError(Exception):
    """Some schemas failed their collected-SQL migration (each rolled back, none marked applied)."""

    def __init__(self, failures: dict[str, str], left: list[str] | None = None):
        self.failures = failures
        self.left = left or []  # schemas that still need Django's executor
        listed = "; ".join(f"{schema}: {error}" for schema, error in sorted(failures.items())[:10])
        super().__init__(f"{len(failures)} schema(s) not migrated: {listed}")


def _sql_only(migration) -> bool:
    if not migration.atomic:
        return False
    for operation in migration.operations:
        module = type(operation).__module__
        if not module.startswith("django.db.migrations.operations."):
            return False
        if type(operation).__name__ not in _SQL_ONLY_OPERATIONS:
            return False
    return True


def _names_schema(sql: str, schema: str) -> bool:
    pattern = rf'(?<![\w"])(?:{re.escape(schema)}|{re.escape(_quoted(schema))})\s*\.'
    return re.search(pattern, sql) is not None


def collected_migration_sql(schema: str) -> tuple[list[tuple[str, str]], str] | None:
    """The migrations `schema` lacks and the SQL that applies them, collected (not run) on it; None
    when they cannot be applied as plain SQL to another schema in the same state."""
    connection.set_schema(schema)  # type: ignore[attr-defined]  # django-tenants' backend adds it
    try:
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        if not plan or any(backwards for _, backwards in plan):
            return None
        if not all(_sql_only(migration) for migration, _ in plan):
            return None
        statements = executor.loader.collect_sql(plan)
    finally:
        connection.set_schema_to_public()  # type: ignore[attr-defined]
    sql = "\n".join(statements)
    if "CANNOT BE WRITTEN AS SQL" in sql or _names_schema(sql, schema):
        return None
    return [(m.app_label, m.name) for m, _ in plan], sql


def _apply_sql(schema: str, migrations: list[tuple[str, str]], sql: str) -> None:
    """Run `sql` in `schema` and record `migrations` there, all or nothing."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('search_path')")
        previous = cursor.fetchone()[0]
        # Unqualified names resolve as under django-tenants (the tenant's schema, then public).
        cursor.execute("SELECT set_config('search_path', %s, true)", [f"{_quoted(schema)}, public"])
        if sql.strip():
            cursor.execute(sql)  # no parameters: one round trip for every statement
        cursor.executemany(
            f"INSERT INTO {_quoted(schema)}.django_migrations (app, name, applied) "
            "VALUES (%s, %s, now())",
            migrations,
        )
        cursor.execute("SELECT set_config('search_path', %s, true)", [previous])


def fast_migrate(schemas: list[str], *, workers: int = 1, log=None) -> list[str]:
    """Migrate schemas that lack the same schema-editor-only migrations by running the SQL collected
    once (on the first of them) in each, in its own transaction; `workers` threads, each with its own
    connection. Returns the schemas left for django-tenants' executor (other missing migrations, or
    migrations that are not plain SQL). Raises FastMigrationError after trying every schema when
    some failed: a failed schema is rolled back and its migrations are not recorded."""
    tenant_keys = disk_migrations()[0]
    groups: dict[frozenset, list[str]] = {}
    for schema in schemas:
        groups.setdefault(frozenset(tenant_keys - applied_migrations(schema)), []).append(schema)
    left: list[str] = []
    failures: dict[str, str] = {}
    for missing, group in groups.items():
        collected = collected_migration_sql(group[0]) if missing else None
        if collected is None or set(collected[0]) != missing:
            left.extend(group)
            continue
        migrations, sql = collected
        started = time.perf_counter()
        failed = _apply_all(group, migrations, sql, workers)
        failures.update(failed)
        if log is not None:
            log(
                f"{len(group) - len(failed)} schema(s) migrated by collected SQL "
                f"({', '.join(f'{app}.{name}' for app, name in migrations)}) in "
                f"{time.perf_counter() - started:.1f} s"
            )
    if failures:
        raise FastMigrationError(failures, left)
    return left


def _apply_all(group: list[str], migrations, sql: str, workers: int) -> dict[str, str]:
    failures: dict[str, str] = {}

    def apply_each(schemas: list[str]) -> None:
        for schema in schemas:
            try:
                _apply_sql(schema, migrations, sql)
            except DatabaseError as exc:
                failures[schema] = str(exc).strip().splitlines()[0]
                logger.error("schema %s not migrated: %s", schema, exc)

    def apply_in_thread(schemas: list[str]) -> None:
        try:
            apply_each(schemas)
        finally:
            connection.close()  # the thread's own connection

    if workers <= 1 or connection.in_atomic_block or len(group) < 2 * workers:
        apply_each(group)
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(apply_in_thread, [group[i::workers] for i in range(workers)]))
    return failures


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

    def _log(self, message: str) -> None:
        if int(self.options.get("verbosity", 1)) >= 1:
            sys.stdout.write(f"[{self.codename}] {message}\n")
            sys.stdout.flush()

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
            try:
                tenants = fast_migrate(
                    schemas_behind(tenants),
                    workers=getattr(settings, "TENANT_MULTIPROCESSING_MAX_PROCESSES", 2),
                    log=self._log,
                )
            except FastMigrationError as failed:
                self._run(failed.left)  # the other schemas still get their migrations
                raise
        self._run(tenants)

    def _run(self, tenants: list[str]) -> None:
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
