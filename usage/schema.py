"""Running usage code in a tenant's schema without a needless switch.

API requests already run in the credential's schema; switching again would cost a `SET search_path`
round trip on the hot ingest path, so the switch happens only when another schema is active.
"""

from contextlib import nullcontext

from django.db import connection
from django_tenants.utils import tenant_context


def in_schema(tenant):
    if connection.schema_name == tenant.schema_name:
        return nullcontext()
    return tenant_context(tenant)
