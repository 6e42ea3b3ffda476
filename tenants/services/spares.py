"""Spare tenant schemas: clones of the template made ahead, so provisioning only renames one.

Cloning the template is ~200 DDL statements today, and PostgreSQL syncs every new index file to
disk: 100+ ms on a quiet machine, growing with every tenant table an app adds (16 ms when the clone
landed, 131 ms by issue 21). None of it depends on the tenant, so it is done before the tenant
exists: a background task keeps TENANT_SPARE_SCHEMAS clones ready, and tenant_create renames one
(`ALTER SCHEMA ... RENAME`, a catalog update) inside its own transaction; a rolled-back
provisioning leaves the spare where it was. With no spare ready it clones inline as before.

A spare's name carries the version of the tenant migrations it was cloned at
(`spare_<version>_<random>`): code with other migrations never claims it, and the refill drops it.
Two provisionings never take the same spare: each holds a transaction-scoped advisory lock on the
one it renames.
"""

from __future__ import annotations

import hashlib
import logging
import uuid

from django.conf import settings
from django.db import DatabaseError, connection, transaction

from billing_project.tenant_migrations import disk_migrations
from tenants import schema_clone

logger = logging.getLogger(__name__)

SPARE_PREFIX = "spare_"
_LOCK_CLASS = 7_240_002  # advisory lock namespace of spares (the template lock is 7_240_001)


def spare_version() -> str:
    """The tenant schemas' migration state the code expects, as a short hash."""
    tenant_keys, shared_keys = disk_migrations()
    return hashlib.sha256(repr(sorted(tenant_keys | shared_keys)).encode()).hexdigest()[:10]


def _prefix() -> str:
    return f"{SPARE_PREFIX}{spare_version()}_"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def spare_list() -> list[str]:
    """Every spare schema, of any version."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nspname FROM pg_namespace WHERE starts_with(nspname, %s) ORDER BY nspname",
            [SPARE_PREFIX],
        )
        return [row[0] for row in cursor.fetchall()]


def spare_claim(*, schema_name: str) -> bool:
    """Rename a ready spare to `schema_name` in the caller's transaction. False when none is ready
    (or the one picked went to another provisioning meanwhile): the caller clones instead."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("spare_claim runs inside the provisioning transaction")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nspname FROM pg_namespace WHERE starts_with(nspname, %s) "
            "AND pg_try_advisory_xact_lock(%s, hashtext(nspname)) LIMIT 1",
            [_prefix(), _LOCK_CLASS],
        )
        row = cursor.fetchone()
    if row is None:
        return False
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"ALTER SCHEMA {_quote(row[0])} RENAME TO {_quote(schema_name)}")
    except DatabaseError as exc:  # renamed by a provisioning that committed after our read
        logger.info("spare schema %s not claimed (%s); cloning instead", row[0], exc)
        return False
    return True


def spares_refill(*, count: int | None = None) -> int:
    """Clone the template into spares until `count` (TENANT_SPARE_SCHEMAS) of this version are
    ready, and drop the spares of other versions. The template must be current
    (tenant_template_ensure). Returns the number of spares created."""
    want = settings.TENANT_SPARE_SCHEMAS if count is None else count
    prefix = _prefix()
    spares = spare_list()
    for name in spares:
        if not name.startswith(prefix):
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_try_advisory_xact_lock(%s, hashtext(%s))", [_LOCK_CLASS, name]
                )
                if cursor.fetchone()[0]:
                    cursor.execute(f"DROP SCHEMA IF EXISTS {_quote(name)} CASCADE")
                    logger.info("dropped spare schema %s of another migration state", name)
    ready = sum(1 for name in spares if name.startswith(prefix))
    created = 0
    while ready + created < want:
        with transaction.atomic():
            schema_clone.clone_schema(settings.TENANT_BASE_SCHEMA, prefix + uuid.uuid4().hex[:12])
        created += 1
    return created
