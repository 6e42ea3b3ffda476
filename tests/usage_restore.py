"""Put the demo tenants' usage back after a test whose servers committed events for them.

A live server (gunicorn on the session's test database) commits the events, rollups and Redis
counters of what it ingests; later tests count acme's and globex's usage of the current period, so a
test that ingests through a server wraps itself in `usage_restored`: the events and key rows of its
transaction_id prefixes are removed afterwards, the rollups put back as they were, and the counters
dropped (they are rebuilt from the rollups on the next read).

    with usage_restored("acme", "globex") as prefixes:
        prefixes.append(f"nodes-{run}-")   # the transaction_ids the test sends start with it
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from tests.concurrency import committed


@contextlib.contextmanager
def usage_restored(*slugs: str) -> Iterator[list[str]]:
    from django_tenants.utils import schema_context

    from tenants.models import Tenant
    from usage import counters
    from usage.models import UsageDailyRollup, UsageEvent, UsageEventKey, UsageRollup

    models = (UsageRollup, UsageDailyRollup)
    schemas = committed(lambda: [Tenant.objects.get(slug=slug).schema_name for slug in slugs])

    def snapshot():
        states = {}
        for schema in schemas:
            with schema_context(schema):
                states[schema] = {m: {r["id"]: r for r in m.objects.values()} for m in models}
        return states

    before = committed(snapshot)
    prefixes: list[str] = []
    try:
        yield prefixes
    finally:

        def restore():
            for schema in schemas:
                with schema_context(schema):
                    # The counters of every period touched, the rollups made by the test included
                    # (removed below).
                    periods = {
                        (r["resource_type"], r["period_start"])
                        for r in [
                            *before[schema][UsageRollup].values(),
                            *UsageRollup.objects.values("resource_type", "period_start"),
                        ]
                    }
                    for prefix in prefixes:
                        UsageEvent.objects.filter(transaction_id__startswith=prefix).delete()
                        UsageEventKey.objects.filter(key__startswith=f"t:{prefix}").delete()
                    for model in models:
                        rows = before[schema][model]
                        model.objects.exclude(id__in=list(rows)).delete()
                        for row in model.objects.filter(id__in=list(rows)).values():
                            if row != rows[row["id"]]:
                                model.objects.filter(id=row["id"]).update(**rows[row["id"]])
                    for resource, period_start in periods:
                        counters.counter_forget(schema, resource, period_start)

        committed(restore)
