"""Read replica (issue 20): reports, CSV exports and analytics read from DATABASE_REPLICA_URL (a
streaming replica of the primary) when it is configured; everything else stays on the primary.

Reads go to the replica only where a caller asks, never by default: a replica lags the primary by a
moment, and a path that writes and then reads its own write (a service, a webhook handler, a
request after a form post) must read the primary. Ask with the context manager or the decorator:

    from billing_project.replica import replica, reads_from_replica

    with replica():                       # every ORM read in the block, in this thread / task
        rows = list(Invoice.objects.filter(...))

    @reads_from_replica                   # a view, selector or task that only reports
    def mrr_report(*, start, end): ...

Writes inside the block still go to the primary (the router sends writes nowhere else). Without
DATABASE_REPLICA_URL both are no-ops: reads stay on the primary. The replica connection follows the
tenant of the primary connection (django-tenants sets the search path per connection): a tenant's
report reads the tenant's schema on the replica too.
"""

from __future__ import annotations

import contextlib
import functools
from contextvars import ContextVar

from django.db import connections

REPLICA = "replica"

_reading_from_replica: ContextVar[bool] = ContextVar("reading_from_replica", default=False)


def replica_configured() -> bool:
    return REPLICA in connections.settings


@contextlib.contextmanager
def replica():
    """ORM reads in this block go to the replica (when one is configured)."""
    token = _reading_from_replica.set(True)
    try:
        yield
    finally:
        _reading_from_replica.reset(token)


def reads_from_replica(function):
    """The decorated function's ORM reads go to the replica (when one is configured)."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with replica():
            return function(*args, **kwargs)

    return wrapper


def _follow_primary_schema() -> None:
    primary, copy = connections["default"], connections[REPLICA]
    tenant = getattr(primary, "tenant", None)
    if tenant is not None and getattr(copy, "tenant", None) is not tenant:
        copy.set_tenant(tenant, include_public=getattr(primary, "include_public_schema", True))  # type: ignore[attr-defined]  # django-tenants' backend adds it; django-stubs types the connection as BaseDatabaseWrapper
    elif tenant is None and getattr(copy, "schema_name", None) != primary.schema_name:  # type: ignore[attr-defined]  # django-tenants' backend adds it; django-stubs types the connection as BaseDatabaseWrapper
        copy.set_schema(primary.schema_name)  # type: ignore[attr-defined]  # django-tenants' backend adds it; django-stubs types the connection as BaseDatabaseWrapper


class ReplicaRouter:
    """First in DATABASE_ROUTERS: reads inside replica() -> the replica; everything else, and every
    write and migration, is left to the next router (django-tenants') and the primary."""

    def db_for_read(self, model, **hints):
        if _reading_from_replica.get() and replica_configured():
            _follow_primary_schema()
            return REPLICA
        return None

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        # The same rows on both: an object read from the replica may be related to a primary one.
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        if db == REPLICA:
            return False  # a physical copy: migrated by replication, never by us
        return None


def stream_from_replica(rows):
    """For a streaming response (a CSV export): its rows are read on the replica while it streams,
    after the view has returned (so outside any `with replica()` in the view)."""
    with replica():
        yield from rows
