"""Clone the template schema into a new tenant schema with plain DDL.

django-tenants' `clone_schema()` PL/pgSQL function walks the whole catalog on every call; with
hundreds of schemas it took seconds per tenant and kept growing. Here the template is read once
per process into a list of statements, and each clone only replays them with the new schema's
name: cost proportional to the template's size, not to the number of tenants.

Names of constraints and indexes are kept exactly (later migrations drop them by name).
"""

from __future__ import annotations

import re
import threading

from django.db import connection

_lock = threading.Lock()
_plans: dict[str, ClonePlan] = {}


class ClonePlan:
    """The statements that recreate a template schema, with `{schema}` for the new schema's name."""

    def __init__(self, template: str):
        self.template = template
        self.tables: list[str] = []
        self.create: list[str] = []
        self.copy: list[str] = []
        self.constraints: list[str] = []
        self.foreign_keys: list[str] = []
        self.indexes: list[str] = []
        self.sequences: list[str] = []

    def statements(self, schema: str) -> list[str]:
        quoted = _quote(schema)
        return [
            sql.replace("{schema}", quoted)
            for sql in ["CREATE SCHEMA {schema}"]
            + self.create
            + self.copy
            + self.constraints
            + self.indexes
            + self.foreign_keys
            + self.sequences
        ]


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _retarget(definition: str, template: str) -> str:
    # Definitions are read with search_path = pg_catalog, so every reference to the template is
    # written `template.name` or `"template".name`; references to public stay `public.name`.
    pattern = rf'(?<![\w"])(?:{re.escape(template)}|{re.escape(_quote(template))})\.'
    return re.sub(pattern, "{schema}.", definition)


def _build(template: str) -> ClonePlan:
    plan = ClonePlan(template)
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('search_path')")
        previous = cursor.fetchone()[0]
        # With only pg_catalog on the path, pg_get_*def() schema-qualifies every other name.
        cursor.execute("SELECT set_config('search_path', 'pg_catalog', false)")
        try:
            _read_template(cursor, plan, template)
        finally:
            cursor.execute("SELECT set_config('search_path', %s, false)", [previous])
    return plan


def _read_template(cursor, plan: ClonePlan, template: str) -> None:
    t = _quote(template)
    # Partitioned tables (relkind 'p') are created partitioned, and their partitions as partitions
    # of them (after them: ordered by relispartition); a partition's constraints and indexes are
    # its parent's, created on it by PostgreSQL when the parent gets them, so they are not read.
    cursor.execute(
        "SELECT c.relname, c.relkind, c.relispartition, parent.relname, "
        "CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END, "
        "CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, c.oid) END "
        "FROM pg_class c LEFT JOIN pg_inherits i ON i.inhrelid = c.oid AND c.relispartition "
        "LEFT JOIN pg_class parent ON parent.oid = i.inhparent "
        "WHERE c.relnamespace = %s::regnamespace AND c.relkind IN ('r', 'p') "
        "ORDER BY c.relispartition, c.relname",
        [template],
    )
    rows = cursor.fetchall()
    plan.tables = sorted(row[0] for row in rows)
    for table, kind, is_partition, parent, partition_key, bound in rows:
        q = _quote(table)
        if is_partition:
            plan.create.append(
                f"CREATE TABLE {{schema}}.{q} PARTITION OF {{schema}}.{_quote(parent)} {bound}"
            )
        else:
            # LIKE copies columns, NOT NULLs, defaults and identity (with a new sequence per
            # column); constraints and indexes are added below under their own names.
            plan.create.append(
                f"CREATE TABLE {{schema}}.{q} (LIKE {t}.{q} INCLUDING DEFAULTS INCLUDING IDENTITY "
                f"INCLUDING GENERATED INCLUDING STORAGE INCLUDING COMMENTS)"
                + (f" PARTITION BY {partition_key}" if kind == "p" else "")
            )
        if kind == "r":  # a partitioned table's rows are its partitions'
            plan.copy.append(f"INSERT INTO {{schema}}.{q} SELECT * FROM {t}.{q}")
    cursor.execute(
        "SELECT rel.relname, con.conname, con.contype, pg_get_constraintdef(con.oid) "
        "FROM pg_constraint con JOIN pg_class rel ON rel.oid = con.conrelid "
        "WHERE con.connamespace = %s::regnamespace AND con.contype IN ('p', 'u', 'c', 'f', 'x') "
        "AND con.conparentid = 0 AND con.coninhcount = 0 "
        "ORDER BY rel.relname, con.conname",
        [template],
    )
    for table, name, kind, definition in cursor.fetchall():
        sql = (
            f"ALTER TABLE {{schema}}.{_quote(table)} ADD CONSTRAINT {_quote(name)} "
            f"{_retarget(definition, template)}"
        )
        (plan.foreign_keys if kind == "f" else plan.constraints).append(sql)
    cursor.execute(
        "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE c.relnamespace = %s::regnamespace AND NOT c.relispartition "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = i.indexrelid "
        "AND con.contype IN ('p', 'u', 'x')) "
        "ORDER BY c.relname",
        [template],
    )
    # A partitioned table's index reads `ON ONLY parent`, which would leave the partitions without
    # it: created on the parent, it is created on (and attached from) every partition.
    plan.indexes = [
        _retarget(row[0].replace(" ON ONLY ", " ON ", 1), template) for row in cursor.fetchall()
    ]
    cursor.execute(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = %s AND is_identity = 'YES' ORDER BY table_name",
        [template],
    )
    for table, column in cursor.fetchall():
        plan.sequences.append(
            f"SELECT setval(pg_get_serial_sequence('{{schema}}.{_quote(table)}', '{column}'), "
            f"COALESCE(MAX({_quote(column)}), 1), MAX({_quote(column)}) IS NOT NULL) FROM {{schema}}.{_quote(table)}"
        )
    cursor.execute(
        "SELECT count(*) FROM information_schema.columns WHERE table_schema = %s "
        "AND column_default LIKE 'nextval(%%'",
        [template],
    )
    if cursor.fetchone()[0]:
        # A serial (non-identity) column would point at the template's own sequence.
        raise RuntimeError(
            f"schema {template} has serial columns; only identity columns can be cloned"
        )


def plan_for(template: str) -> ClonePlan:
    with _lock:
        if template not in _plans:
            _plans[template] = _build(template)
        return _plans[template]


def forget(template: str) -> None:
    """Drop the cached plan (after the template was migrated)."""
    with _lock:
        _plans.pop(template, None)


def clone_schema(template: str, schema: str) -> None:
    """Create `schema` as a copy of `template` (structure and rows) in the current transaction."""
    plan = plan_for(template)
    with connection.cursor() as cursor:
        # One round trip for the ~200 statements (no parameters: PostgreSQL's simple protocol).
        cursor.execute(";\n".join(plan.statements(schema)))
