"""django-tenants' PostgreSQL backend, without a `SET search_path` round trip before every query, and
correct behind a transaction-pooling PgBouncer.

Session mode (the default). django-tenants issues `SET search_path` each time Django opens a cursor
(TENANT_LIMIT_SET_CALLS off) or after every set_tenant() (on), even when the connection already has
that path: an API request that switches to its credential's tenant and back, or a selector inside
schema_context(), paid one extra round trip per query (issue 21). This backend remembers the path
the session really has and sets it only when the wanted one differs. The session's path is
forgotten whenever PostgreSQL may have dropped it: a closed connection, a rollback or a rollback to
a savepoint (django-tenants' own resets), so it is set again on the next cursor. Code that changes
the path with its own SQL (`set_config('search_path', ...)`, as tenants.schema_clone does) must put
it back before it ends.

Transaction pooling (DB_TRANSACTION_POOLING=1, issue 20). Behind PgBouncer's `pool_mode =
transaction` each transaction may run on another server connection, so a path set on "the session"
lands on whichever server connection ran that statement, and a later query of this client may run
on a connection another client left in its own tenant's schema: a cross-tenant read. PgBouncer 1.18
(Debian 12) cannot carry search_path from client to server. So the path is never set on the session
here: every transaction starts with `SET LOCAL search_path`, which PostgreSQL drops at its end, and
a statement outside a transaction (Django's autocommit) is run inside a short one with it. A schema
switch within a transaction sets it again; a rollback to a savepoint (which undoes SET LOCAL) makes
the next statement set it again. Server-side cursors are off in that mode (Django's
DISABLE_SERVER_SIDE_CURSORS), as Django documents for transaction pooling.
"""

import select
import sys
from typing import Any, cast

from django.conf import settings
from django.db import connections
from django.db.backends.postgresql import base as postgresql
from django_tenants.postgresql_backend import base
from psycopg import sql
from psycopg.pq import ConnStatus, TransactionStatus

# Django's psycopg 3 cursors with client-side and server-side binding (defined only when psycopg 3
# is installed).
Cursor: Any = postgresql.Cursor
ServerBindingCursor: Any = postgresql.ServerBindingCursor


class PreparedCursor(ServerBindingCursor):
    """Server-side binding, and every statement with parameters prepared on the server: parsed and
    planned once per connection, then only bound and run (DatabaseWrapper.prepared_cursor). The
    single usage event's statement cost PostgreSQL 470 us of CPU unprepared and 175 us prepared
    (issue 21). PostgreSQL parses it again by itself when the search path changed since its last
    run, so one prepared statement serves every tenant's schema. The `SET search_path` that
    django-tenants sends on the cursor has no parameters and is not prepared."""

    def execute(self, query, params=None, **kwargs):
        if params is not None:
            kwargs.setdefault("prepare", True)
        return super().execute(query, params, **kwargs)


class PooledCursor(Cursor):
    """Django's client-side-binding cursor that puts the wanted search path in every transaction.

    The wanted path is on the psycopg connection (`billing_search_path`, set by DatabaseWrapper when
    Django opens a cursor); the path this transaction has is `billing_path_in_tx`, valid only while
    a transaction is open."""

    def _set_path(self, *, new_transaction: bool = False) -> None:
        conn = self.connection
        wanted = getattr(conn, "billing_search_path", None)
        if wanted is None:
            return
        in_tx = conn.info.transaction_status != TransactionStatus.IDLE and not new_transaction
        if in_tx and getattr(conn, "billing_path_in_tx", None) == wanted:
            return
        # Outside a transaction (non-autocommit), psycopg sends BEGIN first: the transaction starts here.
        super().execute(f"SET LOCAL search_path = {wanted}")
        conn.billing_path_in_tx = wanted

    def execute(self, query, params=None, **kwargs):
        conn = self.connection
        if (
            conn.autocommit
            and conn.info.transaction_status == TransactionStatus.IDLE
            and getattr(conn, "billing_search_path", None) is not None
        ):
            # Autocommit: one statement, one transaction of its own that carries the path.
            with conn.transaction():
                self._set_path(new_transaction=True)
                return super().execute(query, params, **kwargs)
        self._set_path()
        result = super().execute(query, params, **kwargs)
        if isinstance(query, str) and query.lstrip()[:21].upper() == "ROLLBACK TO SAVEPOINT":
            conn.billing_path_in_tx = None  # SET LOCAL undone with it
        return result

    def executemany(self, query, params_seq, **kwargs):
        conn = self.connection
        if conn.autocommit and conn.info.transaction_status == TransactionStatus.IDLE:
            with conn.transaction():
                self._set_path(new_transaction=True)
                return super().executemany(query, params_seq, **kwargs)
        self._set_path()
        return super().executemany(query, params_seq, **kwargs)

    def copy(self, statement, *args, **kwargs):
        # COPY is used inside transaction.atomic() only (the usage ingest's staging table).
        self._set_path()
        return super().copy(statement, *args, **kwargs)


class DatabaseWrapper(base.DatabaseWrapper):
    _prepared_next = False

    def prepared_cursor(self):
        """A cursor (as cursor()) whose statements with parameters are prepared on the server, for
        the statements a hot path runs again and again with new values. Behind a transaction-
        pooling PgBouncer (1.18 keeps no prepared statement across server connections) it is a
        plain cursor."""
        if settings.DB_TRANSACTION_POOLING:
            return self.cursor()
        self._prepared_next = True
        try:
            return self.cursor()
        finally:
            self._prepared_next = False

    def create_cursor(self, name=None):
        if name is None and self._prepared_next:
            # Django's own create_cursor (time zone loader and all), with this cursor class.
            factory = self.connection.cursor_factory
            self.connection.cursor_factory = PreparedCursor
            try:
                return super().create_cursor(name)
            finally:
                self.connection.cursor_factory = factory
        return super().create_cursor(name)

    def is_usable(self):
        """Django's health check (CONN_HEALTH_CHECKS) before the first query of every request,
        without its `SELECT 1` round trip while the server has sent nothing since its last answer.
        A server that ends a connection (a restart, pg_terminate_backend, an idle timeout, a
        PgBouncer closing it) sends its FATAL message and closes the socket, which makes the socket
        readable: then, and whenever anything else arrived, Django's own check runs. On
        GET /api/v1/tenants/current that round trip was as long as the request's only query
        (issue 21)."""
        conn = self.connection
        if conn is None or conn.closed:
            return False
        try:
            readable, _, _ = select.select([conn.fileno()], [], [], 0)
        except (OSError, ValueError):
            return False
        if (
            not readable
            and conn.pgconn.status == ConnStatus.OK
            and conn.info.transaction_status in (TransactionStatus.IDLE, TransactionStatus.INTRANS)
        ):
            return True
        # Something arrived, or a failed transaction (Django's query would fail there too).
        return super().is_usable()

    def get_connection_params(self):
        params = super().get_connection_params()
        if settings.DB_TRANSACTION_POOLING:
            params["cursor_factory"] = PooledCursor
        else:
            # Django turns psycopg's statement preparation off (None), which also ignores an
            # explicit prepare=True. On: only PreparedCursor asks for it; nothing reaches this
            # count of executions that would prepare a statement by itself.
            params["prepare_threshold"] = sys.maxsize
        return params

    def set_tenant(self, tenant, include_public=True):
        applied = self.search_path_set_schemas
        super().set_tenant(tenant, include_public)
        # set_tenant() only chooses the schema; the session keeps the path it has until the next
        # cursor compares the two (below).
        self.search_path_set_schemas = applied

    def _handle_search_path(self, cursor=None):
        if settings.DB_TRANSACTION_POOLING:
            # Not on the session: PooledCursor puts it in each transaction.
            if self.connection is not None:
                self.connection.billing_search_path = ", ".join(
                    sql.Identifier(path).as_string(self.connection)
                    for path in self._get_cursor_search_paths()
                )
            return
        if (
            self.search_path_set_schemas is not None
            and not self._setting_search_path
            and self.search_path_set_schemas == self._get_cursor_search_paths()
        ):
            return
        # The parent sets the path unless TENANT_LIMIT_SET_CALLS tells it to trust the remembered
        # one, which it may only do when that is the wanted path: forget it first.
        self.search_path_set_schemas = None
        super()._handle_search_path(cursor)


def prepared_cursor(alias: str = "default") -> Any:
    """DatabaseWrapper.prepared_cursor() of a connection (typed code sees Django's base class)."""
    return cast(DatabaseWrapper, connections[alias]).prepared_cursor()
