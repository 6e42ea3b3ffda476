"""Collectors: NetBox and Odoo counts recorded as usage events on a schedule.

A run records its count as one event whose transaction_id names the collector and the time slot
(`interval_minutes` wide): a retried or doubled run inside the slot counts once.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone as dt_timezone

from django.utils import timezone

from notifications import crypto
from usage import collector_gateways as gateways
from usage.models import Collector, CollectorRun
from usage.schema import in_schema
from usage.services.ingest import usage_event_ingest

logger = logging.getLogger(__name__)


def collector_secret_set(*, collector: Collector, secret: str) -> None:
    """Store the NetBox token or Odoo API key encrypted (never in clear text)."""
    collector.secret_key_id, collector.secret_ciphertext = crypto.encrypt(secret)


def collector_create(*, tenant, kind: str, name: str, base_url: str, resource_type: str, target: str, secret: str,
                     filters: dict | None = None, odoo_database: str = "", odoo_login: str = "",
                     interval_minutes: int = 60) -> Collector:
    """Configure a collector of `tenant` (its secret encrypted at rest)."""
    with in_schema(tenant):
        collector = Collector(kind=kind, name=name, base_url=base_url, resource_type=resource_type, target=target,
                              filters=filters or {}, odoo_database=odoo_database, odoo_login=odoo_login,
                              interval_minutes=interval_minutes)
        collector_secret_set(collector=collector, secret=secret)
        collector.full_clean()
        collector.save()
    return collector


def _count(collector: Collector):
    secret = crypto.decrypt(collector.secret_key_id, collector.secret_ciphertext)
    if collector.kind == Collector.Kind.NETBOX:
        return gateways.netbox_count(base_url=collector.base_url, token=secret, endpoint=collector.target,
                                     filters=collector.filters)
    return gateways.odoo_count(base_url=collector.base_url, database=collector.odoo_database,
                               login=collector.odoo_login, api_key=secret, model=collector.target,
                               domain=(collector.filters or {}).get("domain"))


def _slot(collector: Collector, now: datetime) -> str:
    width = max(1, collector.interval_minutes) * 60
    return datetime.fromtimestamp(int(now.timestamp()) // width * width, tz=dt_timezone.utc).strftime("%Y%m%dT%H%M")


def usage_collector_run(*, tenant, collector: Collector, now: datetime | None = None) -> CollectorRun:
    """Poll one collector and record its count as a usage event; failures are kept on the run."""
    now = now or timezone.now()
    with in_schema(tenant):
        run = CollectorRun(collector=collector, started_at=now)
        try:
            count = _count(collector)
            event, _ = usage_event_ingest(tenant=tenant, now=now, data={
                "resource_type": collector.resource_type, "quantity": str(count), "period_start": now.isoformat(),
                "source": f"{collector.kind}:{collector.name}"[:64],
                "transaction_id": f"collector:{collector.pk}:{_slot(collector, now)}",
                "properties": {"collector": collector.name, "target": collector.target}})
            run.status, run.count, run.event_id = CollectorRun.Status.OK, count, event["event_id"]
        except (gateways.CollectorError, crypto.DecryptionError) as exc:
            run.status, run.error = CollectorRun.Status.FAILED, str(exc)[:2000]
            logger.warning("collector %s of %s failed: %s", collector.name, tenant.slug, exc)
        except Exception as exc:  # e.g. the resource's meter was removed: recorded, not raised
            run.status, run.error = CollectorRun.Status.FAILED, f"{exc.__class__.__name__}: {exc}"[:2000]
            logger.exception("collector %s of %s failed", collector.name, tenant.slug)
        run.finished_at = timezone.now()
        run.save()
        Collector.objects.filter(pk=collector.pk).update(last_run_at=now)
    return run


def usage_collectors_run_due(*, tenant, now: datetime | None = None) -> list[CollectorRun]:
    """Run every active collector of `tenant` whose interval has passed since its last run."""
    now = now or timezone.now()
    runs = []
    with in_schema(tenant):
        for collector in Collector.objects.filter(is_active=True):
            due = collector.last_run_at is None or (now - collector.last_run_at).total_seconds() >= \
                collector.interval_minutes * 60 - 30  # beat jitter must not skip a slot
            if due:
                runs.append(usage_collector_run(tenant=tenant, collector=collector, now=now))
    return runs
