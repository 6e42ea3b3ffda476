"""The one way a Celery task gets its tenant: `@tenant_task`.

tenant-schemas-celery runs a task in the schema that was active when it was sent (and beat sends
the periodic ones once per tenant schema). A tenant task receives that tenant's row as its first
argument (after `self` for a bound task); services want the row, not the schema name. Sent from the
public schema, where there are no tenant tables, the task does nothing and says so in the log.
"""

from __future__ import annotations

import functools
import inspect
import logging

from celery import shared_task
from django.db import connection

logger = logging.getLogger(__name__)


def current_tenant():
    """The Tenant row of the active schema, or None in public. The connection's tenant is a
    stand-in object when the schema was set by name (schema_context), so that case reads the row."""
    from django_tenants.utils import get_public_schema_name

    from tenants.models import Tenant

    schema = connection.schema_name
    if schema == get_public_schema_name():
        return None
    tenant = getattr(connection, "tenant", None)
    if isinstance(tenant, Tenant) and tenant.schema_name == schema:
        return tenant
    return Tenant.objects.get(schema_name=schema)


def tenant_task(*options_args, **options):
    """`shared_task` for a task that runs in one tenant's schema: the wrapped function takes
    `tenant` as its first parameter (after `self` with bind=True); callers send the others only."""
    if options_args and callable(options_args[0]) and len(options_args) == 1 and not options:
        return tenant_task()(options_args[0])
    bind = options.get("bind", False)

    def decorate(func):
        @functools.wraps(func)
        def run(*args, **kwargs):
            tenant = current_tenant()
            if tenant is None:
                logger.warning(
                    "task %s.%s sent from the public schema: nothing to do without a tenant",
                    func.__module__,
                    func.__name__,
                )
                return None
            if bind:
                return func(args[0], tenant, *args[1:], **kwargs)
            return func(tenant, *args, **kwargs)

        # Celery checks the arguments of .delay() against this signature: the tenant is not one.
        parameters = list(inspect.signature(func).parameters.values())
        del parameters[1 if bind else 0]
        run.__signature__ = inspect.Signature(parameters)
        return shared_task(*options_args, **options)(run)

    return decorate
