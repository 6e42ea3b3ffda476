"""Tenant provisioning: a new tenant's schema is cloned from a migrated template schema.

Running every migration per tenant costs seconds and grows with the project. django-tenants clones
a TENANT_BASE_SCHEMA instead, but its PL/pgSQL clone slows down as schemas accumulate and it re-reads
the migration graph per tenant; tenants.schema_clone replays the template's DDL instead, so a new
tenant costs the same with 10 or 10,000 tenants (bench/tenants.py).
"""

import logging
import re
from collections.abc import Callable

from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction
from django_tenants.utils import schema_exists

from billing_project.errors import Conflict, InvalidRequest
from billing_project.tenant_migrations import (
    applied_migrations,
    disk_migrations,
    record_shared_only_migrations,
)
from tenants import schema_clone
from tenants.models import Domain, Role, Tenant
from tenants.services.audit import audit_record
from tenants.services.members import membership_create
from tenants.services.spares import spare_claim, spares_refill

logger = logging.getLogger(__name__)

SLUG_RE = re.compile(r"^[a-z][a-z0-9-]{1,48}[a-z0-9]$")
RESERVED_SLUGS = frozenset(
    {
        "public",
        "www",
        "api",
        "admin",
        "docs",
        "static",
        "media",
        "health",
        "metrics",
        "mail",
        "billing",
        "app",
        "portal",
        "support",
        "status",
        "tenant-template",
        "test",
        "localhost",
    }
)
# Any constant that no other advisory lock of the project uses.
_TEMPLATE_LOCK_ID = 7_240_001
_template_checked = False


def schema_name_for(slug: str) -> str:
    return "t_" + slug.replace("-", "_")


def portal_url_for(slug: str) -> str:
    port = settings.PORTAL_PORT
    default_port = {"http": "80", "https": "443"}.get(settings.PORTAL_SCHEME)
    suffix = f":{port}" if port and port != default_port else ""
    return f"{settings.PORTAL_SCHEME}://{slug}.{settings.BASE_DOMAIN}{suffix}/"


def _template_missing_migrations() -> set[tuple[str, str]]:
    template = settings.TENANT_BASE_SCHEMA
    if not schema_exists(template):
        return {("*", "*")}
    tenant_keys, shared_keys = disk_migrations()
    return set((tenant_keys | shared_keys) - applied_migrations(template))


def tenant_template_ensure(*, force: bool = False) -> bool:
    """Create or migrate the template schema when it lacks a migration. Returns True if it changed.

    Checked once per process (migrations on disk do not change under a running process); a
    PostgreSQL advisory lock keeps two provisioning processes from migrating it at once.
    """
    global _template_checked
    if _template_checked and not force:
        return False
    connection.set_schema_to_public()  # type: ignore[attr-defined]  # django-tenants' backend adds it; django-stubs types the connection as BaseDatabaseWrapper
    changed = False
    if _template_missing_migrations():
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_TEMPLATE_LOCK_ID])
            if _template_missing_migrations():
                template = settings.TENANT_BASE_SCHEMA
                with connection.cursor() as cursor:
                    cursor.execute(f'CREATE SCHEMA IF NOT EXISTS "{template}"')
                if not applied_migrations(template):
                    # A new template: migrate contenttypes first (shared apps' migrations depend on
                    # it), which also creates django_migrations, so the shared-only migrations can be
                    # recorded (not re-run) below.
                    call_command(
                        "migrate_schemas",
                        "contenttypes",
                        schema_name=template,
                        tenant=True,
                        interactive=False,
                        verbosity=0,
                    )
                record_shared_only_migrations(template)
                call_command(
                    "migrate_schemas",
                    schema_name=template,
                    tenant=True,
                    interactive=False,
                    verbosity=0,
                )
                connection.set_schema_to_public()  # type: ignore[attr-defined]  # django-tenants' backend adds it; django-stubs types the connection as BaseDatabaseWrapper
                schema_clone.forget(template)
                changed = True
                logger.info("tenant template schema %s migrated", template)
    _template_checked = True
    return changed


def _validate(*, name: str, slug: str, email: str, locale: str) -> None:
    errors = {}
    if not name.strip():
        errors["name"] = ["Required."]
    if not SLUG_RE.match(slug):
        errors["slug"] = [
            "3-50 characters: lower-case letters, digits and '-', starting with a letter."
        ]
    elif slug in RESERVED_SLUGS:
        errors["slug"] = ["This slug is reserved."]
    if locale not in Tenant.Locale.values:
        errors["locale"] = [f"One of {', '.join(Tenant.Locale.values)}."]
    if "@" not in email:
        errors["email"] = ["Enter a valid email address."]
    if errors:
        raise InvalidRequest(next(f"{k}: {v[0]}" for k, v in errors.items()), detail=errors)


def tenant_create(
    *,
    name: str,
    slug: str,
    email: str,
    locale: str = "en",
    owner_email: str | None = None,
    owner_password: str | None = None,
    actor: str = "system",
) -> Tenant:
    """Provision a tenant: row, domain `<slug>.<BASE_DOMAIN>`, schema (cloned), optional owner.

    Without an owner password the owner is invited by email to set one (sent after commit).
    Raises InvalidRequest for a bad slug, Conflict (`slug_taken`) for a duplicate.
    """
    slug = slug.strip().lower()
    _validate(name=name, slug=slug, email=email, locale=locale)
    if Tenant.objects.filter(slug=slug).exists():
        raise Conflict(f"A tenant with slug {slug!r} already exists.", code="slug_taken")
    tenant_template_ensure()
    with transaction.atomic():
        tenant = Tenant(
            name=name.strip(),
            slug=slug,
            email=email.strip().lower(),
            locale=locale,
            schema_name=schema_name_for(slug),
        )
        tenant.save()
        Domain.objects.create(
            domain=f"{slug}.{settings.BASE_DOMAIN}", tenant=tenant, is_primary=True
        )
        # A spare clone made ahead (tenants.services.spares) when one is ready, else a clone now.
        # Cloning copies the template's django_migrations rows too, so the new schema is already
        # recorded as fully migrated.
        if not spare_claim(schema_name=tenant.schema_name):
            schema_clone.clone_schema(settings.TENANT_BASE_SCHEMA, tenant.schema_name)
        if owner_email:
            membership_create(
                tenant=tenant,
                email=owner_email,
                role=Role.OWNER,
                password=owner_password,
                actor=actor,
            )
        audit_record(
            actor=actor,
            action="tenant.create",
            tenant=tenant,
            target=tenant.slug,
            after={"name": tenant.name, "email": tenant.email, "locale": tenant.locale},
        )
        transaction.on_commit(lambda: _tenant_created(tenant))
    return tenant


# Functions other apps register to run after a tenant is provisioned (e.g. the Stripe customer).
TENANT_CREATED_HOOKS: list[Callable[[Tenant], object]] = []


def _tenant_created(tenant: Tenant) -> None:
    # Both go to the worker: the hooks call outside systems (the Stripe customer is an HTTP round
    # trip of 100+ ms), which a signup need not wait for (issue 21).
    from tenants.tasks import tenant_created_hooks_run, tenant_spares_refill

    if settings.TENANT_SPARE_SCHEMAS > 0:
        try:  # the next tenant's clone, made off the request (a broker outage only costs speed)
            tenant_spares_refill.delay()
        except Exception as exc:
            logger.warning("spare tenant schemas not refilled (%s); the next tenant clones", exc)
    if TENANT_CREATED_HOOKS:
        try:
            tenant_created_hooks_run.delay(tenant_id=str(tenant.pk))
        except Exception as exc:  # no broker: run them here rather than not at all
            logger.warning("tenant hooks not queued (%s); running them in the request", exc)
            tenant_created_hooks(tenant=tenant)


def tenant_created_hooks(*, tenant: Tenant) -> None:
    """Run TENANT_CREATED_HOOKS for a provisioned tenant (after its commit, in the worker). A failing
    hook is logged and does not stop the others; each hook heals its own gaps (e.g. Stripe customers
    by `stripe_backfill_customers`)."""
    for hook in TENANT_CREATED_HOOKS:
        try:
            hook(tenant)
        except Exception:
            logger.exception("tenant-created hook %s failed for %s", hook.__name__, tenant.slug)


def tenant_spares_refill(*, count: int | None = None) -> int:
    """Keep TENANT_SPARE_SCHEMAS clones of the (current) template ready for the next tenants.
    Returns the number of spares created."""
    tenant_template_ensure()
    return spares_refill(count=count)
