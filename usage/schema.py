"""Running usage code in a tenant's schema without a needless switch.

API requests already run in the credential's schema; switching again would cost a `SET search_path`
round trip on the hot ingest path, so the switch happens only when another schema is active.
"""

from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING

from django.db import connection
from django_tenants.utils import tenant_context

if TYPE_CHECKING:
    from tenants.models import Tenant


def in_schema(tenant: "Tenant") -> AbstractContextManager[object]:
    if connection.schema_name == tenant.schema_name:  # type: ignore[attr-defined]  # django-tenants' backend adds it; django-stubs types the connection as BaseDatabaseWrapper
        return nullcontext()
    return tenant_context(tenant)  # type: ignore[no-any-return]  # django-tenants ships no types
