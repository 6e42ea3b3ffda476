"""Collectors: NetBox and Odoo counts recorded as usage events on a schedule.

A run records its count as one event whose transaction_id names the collector and the time slot
(`interval_minutes` wide): a retried or doubled run inside the slot counts once.

Two kinds of collectors, run alike:
- a tenant's own (its NetBox or Odoo, URL and secret on the row, set in the admin);
- platform-wide ones, configured by the environment (NETBOX_API_URL + NETBOX_API_TOKEN, ODOO_API_URL +
  ODOO_API_KEY + ODOO_DATABASE + ODOO_LOGIN): the platform's own NetBox / Odoo, where each object belongs
  to a tenant by a documented field: a NetBox object's tenant slug (`?tenant=<slug>`), an Odoo record's
  partner Reference (`ref`, through ODOO_TENANT_FIELD), equal to the tenant's slug. Each tenant schema
  holds a row for each (`platform=True`, kept in step with the settings on every run) so runs, drift and
  the admin work as for the tenant's own collectors.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from billing_project import outbound
from notifications import crypto
from usage import collector_gateways as gateways
from usage.models import Collector, CollectorRun
from usage.schema import in_schema
from usage.services.ingest import usage_event_ingest

if TYPE_CHECKING:
    from tenants.models import Tenant

logger = logging.getLogger(__name__)


def collector_url_check(url: str) -> None:
    """The outbound URL policy's save-time half for a tenant's collector URL (a literal private, loopback
    or metadata address, a wrong scheme): a ValidationError on `base_url`. The connect-time half, when
    the collector runs, is the real guard."""
    try:
        outbound.url_check(url)
    except outbound.OutboundRefused as exc:
        raise ValidationError({"base_url": f"The URL {exc}."}) from None


def collector_secret_set(*, collector: Collector, secret: str) -> None:
    """Store the NetBox token or Odoo API key encrypted (never in clear text)."""
    collector.secret_key_id, collector.secret_ciphertext = crypto.encrypt(secret)


def collector_create(
    *,
    tenant: Tenant,
    kind: str,
    name: str,
    base_url: str,
    resource_type: str,
    target: str,
    secret: str,
    filters: dict[str, Any] | None = None,
    odoo_database: str = "",
    odoo_login: str = "",
    interval_minutes: int = 60,
) -> Collector:
    """Configure a collector of `tenant` (its secret encrypted at rest; its URL under the outbound URL policy)."""
    collector_url_check(base_url)
    with in_schema(tenant):
        collector = Collector(
            kind=kind,
            name=name,
            base_url=base_url,
            resource_type=resource_type,
            target=target,
            filters=filters or {},
            odoo_database=odoo_database,
            odoo_login=odoo_login,
            interval_minutes=interval_minutes,
        )
        collector_secret_set(collector=collector, secret=secret)
        collector.full_clean()
        collector.save()
    return collector


@dataclass(frozen=True)
class PlatformCollector:
    """A platform-wide collector as the settings configure it (see the module docstring)."""

    kind: str
    name: str
    base_url: str
    resource_type: str
    target: str
    mapping: str  # how an object is matched to a tenant, for people (admin, README)
    odoo_database: str = ""
    odoo_login: str = ""

    def secret(self) -> str:
        return (
            settings.NETBOX_API_TOKEN
            if self.kind == Collector.Kind.NETBOX
            else settings.ODOO_API_KEY
        )

    def filters_for(self, tenant: Tenant) -> dict[str, Any]:
        """Only the tenant's objects: NetBox filters by tenant slug, Odoo by the partner's Reference."""
        if self.kind == Collector.Kind.NETBOX:
            return {"tenant": tenant.slug}
        return {"domain": [[settings.ODOO_TENANT_FIELD, "=", tenant.slug]]}


def platform_collectors() -> tuple[list[PlatformCollector], list[str]]:
    """The platform-wide collectors the settings configure, and what keeps a half-configured one off."""
    found, problems = [], []
    if settings.NETBOX_API_URL and settings.NETBOX_API_TOKEN:
        found.append(
            PlatformCollector(
                kind=Collector.Kind.NETBOX,
                name="platform netbox",
                base_url=settings.NETBOX_API_URL,
                resource_type=settings.NETBOX_RESOURCE_TYPE,
                target=settings.NETBOX_ENDPOINT,
                mapping=f"{settings.NETBOX_ENDPOINT} whose NetBox tenant slug is the tenant's slug",
            )
        )
    elif settings.NETBOX_API_URL or settings.NETBOX_API_TOKEN:
        problems.append("NetBox: set both NETBOX_API_URL and NETBOX_API_TOKEN.")
    if settings.ODOO_API_URL and settings.ODOO_API_KEY:
        if settings.ODOO_DATABASE and settings.ODOO_LOGIN:
            found.append(
                PlatformCollector(
                    kind=Collector.Kind.ODOO,
                    name="platform odoo",
                    base_url=settings.ODOO_API_URL,
                    resource_type=settings.ODOO_RESOURCE_TYPE,
                    target=settings.ODOO_MODEL,
                    odoo_database=settings.ODOO_DATABASE,
                    odoo_login=settings.ODOO_LOGIN,
                    mapping=f"{settings.ODOO_MODEL} whose {settings.ODOO_TENANT_FIELD} is the tenant's slug",
                )
            )
        else:
            problems.append(
                "Odoo: ODOO_API_URL and ODOO_API_KEY are set; set ODOO_DATABASE and ODOO_LOGIN too."
            )
    elif settings.ODOO_API_URL or settings.ODOO_API_KEY:
        problems.append("Odoo: set both ODOO_API_URL and ODOO_API_KEY.")
    return found, problems


def platform_collectors_sync(*, tenant: Tenant) -> list[Collector]:
    """Keep the tenant's platform collector rows in step with the settings: one per configured
    platform collector (created, or updated when the settings changed), the others deactivated."""
    configured = {each.kind: each for each in platform_collectors()[0]}
    rows = []
    with in_schema(tenant):
        existing = {row.kind: row for row in Collector.objects.filter(platform=True)}
        for kind, old in existing.items():
            if kind not in configured and old.is_active:
                Collector.objects.filter(pk=old.pk).update(is_active=False)
        for kind, each in configured.items():
            wanted = {
                "name": each.name,
                "base_url": each.base_url,
                "resource_type": each.resource_type,
                "target": each.target,
                "odoo_database": each.odoo_database,
                "odoo_login": each.odoo_login,
                "interval_minutes": settings.PLATFORM_COLLECTOR_INTERVAL_MINUTES,
                "is_active": True,
            }
            row = existing.get(kind)
            if row is None:
                row = Collector.objects.create(kind=kind, platform=True, **wanted)
            elif any(getattr(row, field) != value for field, value in wanted.items()):
                Collector.objects.filter(pk=row.pk).update(**wanted)
                row.refresh_from_db()
            rows.append(row)
    return rows


def _count(collector: Collector, *, tenant: Tenant) -> Decimal:
    if collector.platform:
        # The platform's own NetBox / Odoo: URL and secret are operator configuration from the environment,
        # like DATABASE_URL, so they do not pass the outbound URL policy that guards the URLs set per tenant
        # (an operator may well run NetBox on a private address).
        platform = {each.kind: each for each in platform_collectors()[0]}.get(collector.kind)
        if platform is None:
            raise gateways.CollectorError("no longer configured by the environment")
        secret, filters = platform.secret(), platform.filters_for(tenant)
    else:
        secret = crypto.decrypt(collector.secret_key_id, collector.secret_ciphertext)
        filters = collector.filters or {}
    # A tenant's own URL always passes the policy; only the operator's (above) is exempt, said explicitly.
    enforce_policy = not collector.platform
    if collector.kind == Collector.Kind.NETBOX:
        return gateways.netbox_count(
            base_url=collector.base_url,
            token=secret,
            endpoint=collector.target,
            filters=filters,
            enforce_policy=enforce_policy,
        )
    return gateways.odoo_count(
        base_url=collector.base_url,
        database=collector.odoo_database,
        login=collector.odoo_login,
        api_key=secret,
        model=collector.target,
        domain=filters.get("domain"),
        enforce_policy=enforce_policy,
    )


def _slot(collector: Collector, now: datetime) -> str:
    width = max(1, collector.interval_minutes) * 60
    return datetime.fromtimestamp(int(now.timestamp()) // width * width, tz=UTC).strftime(
        "%Y%m%dT%H%M"
    )


def usage_collector_run(
    *, tenant: Tenant, collector: Collector, now: datetime | None = None
) -> CollectorRun:
    """Poll one collector and record its count as a usage event; failures are kept on the run."""
    now = now or timezone.now()
    with in_schema(tenant):
        run = CollectorRun(collector=collector, started_at=now)
        try:
            count = _count(collector, tenant=tenant)
            event, _ = usage_event_ingest(
                tenant=tenant,
                now=now,
                data={
                    "resource_type": collector.resource_type,
                    "quantity": str(count),
                    "period_start": now.isoformat(),
                    "source": f"{collector.kind}:{collector.name}"[:64],
                    "transaction_id": f"collector:{collector.pk}:{_slot(collector, now)}",
                    "properties": {"collector": collector.name, "target": collector.target},
                },
            )
            run.status, run.count, run.event_id = CollectorRun.Status.OK, count, event["event_id"]
        except (gateways.CollectorError, crypto.DecryptionError) as exc:
            run.status, run.error = CollectorRun.Status.FAILED, str(exc)[:2000]
            logger.warning("collector %s of %s failed: %s", collector.name, tenant.slug, exc)
        except Exception as exc:  # e.g. the resource's meter was removed: recorded, not raised
            run.status, run.error = (
                CollectorRun.Status.FAILED,
                f"{exc.__class__.__name__}: {exc}"[:2000],
            )
            logger.exception("collector %s of %s failed", collector.name, tenant.slug)
        run.finished_at = timezone.now()
        run.save()
        Collector.objects.filter(pk=collector.pk).update(last_run_at=now)
    return run


def usage_collectors_run_due(*, tenant: Tenant, now: datetime | None = None) -> list[CollectorRun]:
    """Run every active collector of `tenant` (its own and the platform's) whose interval has passed
    since its last run."""
    now = now or timezone.now()
    platform_collectors_sync(tenant=tenant)
    runs = []
    with in_schema(tenant):
        for collector in Collector.objects.filter(is_active=True):
            due = (
                collector.last_run_at is None
                or (now - collector.last_run_at).total_seconds()
                >= collector.interval_minutes * 60 - 30
            )  # beat jitter must not skip a slot
            if due:
                runs.append(usage_collector_run(tenant=tenant, collector=collector, now=now))
    return runs
