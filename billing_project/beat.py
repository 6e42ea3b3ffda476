"""The beat scheduler: tenant-schemas-celery's database scheduler, plus entries run once in public.

An entry with `"tenant_schemas": ["public"]` is sent only to the Tenant rows of that schema, and this
project has no Tenant row for public (the public host is "no such tenant", see TenantMiddleware), so
tenant-schemas-celery would never send it; such entries are sent once from the public schema here.
"""

import logging

from django_tenants.utils import get_public_schema_name, schema_context
from tenant_schemas_celery.db_scheduler import TenantAwareDatabaseScheduler

logger = logging.getLogger(__name__)


class BillingBeatScheduler(TenantAwareDatabaseScheduler):
    def apply_entry(self, entry, producer=None):
        headers = entry.options.setdefault("headers", {})
        public = get_public_schema_name()
        if not headers.get("_all_tenants_only") and headers.get("_schema_name") == public:
            with schema_context(public):
                try:
                    self.apply_async(entry, producer=producer, advance=False)
                except Exception:  # as the parent does: one failed send must not stop beat
                    logger.exception("beat: sending %s failed", entry.name)
            return
        super().apply_entry(entry, producer=producer)
