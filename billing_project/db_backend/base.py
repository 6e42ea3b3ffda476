"""django-tenants' PostgreSQL backend, without a `SET search_path` round trip before every query.

django-tenants issues `SET search_path` each time Django opens a cursor (TENANT_LIMIT_SET_CALLS off)
or after every set_tenant() (on), even when the connection already has that path: an API request
that switches to its credential's tenant and back, or a selector inside schema_context(), paid one
extra round trip per query (issue 21). This backend remembers the path the session really has and
sets it only when the wanted one differs. The session's path is forgotten whenever PostgreSQL may
have dropped it: a closed connection, a rollback or a rollback to a savepoint (django-tenants'
own resets), so it is set again on the next cursor. Code that changes the path with its own SQL
(`set_config('search_path', ...)`, as tenants.schema_clone does) must put it back before it ends.
"""

from django_tenants.postgresql_backend import base


class DatabaseWrapper(base.DatabaseWrapper):
    def set_tenant(self, tenant, include_public=True):
        applied = self.search_path_set_schemas
        super().set_tenant(tenant, include_public)
        # set_tenant() only chooses the schema; the session keeps the path it has until the next
        # cursor compares the two (below).
        self.search_path_set_schemas = applied

    def _handle_search_path(self, cursor=None):
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
