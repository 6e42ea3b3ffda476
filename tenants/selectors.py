"""Reads of tenants, memberships and API keys. Anything owned by a tenant is read through the tenant."""

import hashlib
import hmac
import uuid
from collections.abc import Callable
from typing import TypeVar

from django.db import connection
from django.db.models import QuerySet
from django_tenants.utils import schema_context

from tenants.cache import cached
from tenants.models import ApiKey, Domain, Membership, Tenant, User

T = TypeVar("T")


def tenant_list() -> QuerySet[Tenant]:
    return Tenant.objects.exclude(schema_name="public").order_by("-created")


def tenant_get_by_reference(*, reference: str) -> Tenant | None:
    """A tenant by slug or tenant_id (the X-Tenant-ID header accepts both)."""
    queryset = tenant_list()
    try:
        return queryset.filter(id=uuid.UUID(reference)).first()
    except ValueError:
        return queryset.filter(slug=reference.lower()).first()


def membership_get(*, user: User, tenant_id) -> Membership | None:
    return (
        Membership.objects.select_related("tenant").filter(user=user, tenant_id=tenant_id).first()
    )


def tenant_get_by_host(*, hostname: str) -> Tenant | None:
    """The tenant whose domain is `hostname`, or None (the API's public host, an unknown host);
    both answers come from the per-worker cache of tenants/cache.py."""

    def load():
        domain = Domain.objects.select_related("tenant").filter(domain=hostname).first()
        return domain.tenant if domain is not None else None

    return cached(f"host:{hostname}", load)


def token_principal_get(*, user_id, tenant_id=None) -> tuple[User | None, Membership | None]:
    """The active user an access token names and, for a tenant token, the user's membership there
    (role and tenant read again on every request, from the per-worker cache of tenants/cache.py)."""

    def load():
        user = User.objects.filter(pk=user_id, is_active=True).first()
        if user is None or not tenant_id:
            return user, None
        return user, membership_get(user=user, tenant_id=tenant_id)

    return cached(f"token:{user_id}:{tenant_id or ''}", load)


def membership_list(*, tenant: Tenant) -> QuerySet[Membership]:
    return Membership.objects.select_related("user").filter(tenant=tenant)


def user_default_membership(*, user: User, tenant_slug: str | None = None) -> Membership | None:
    """The membership a login lands in: the named tenant's, or the user's oldest."""
    memberships = Membership.objects.select_related("tenant").filter(
        user=user, tenant__status=Tenant.Status.ACTIVE
    )
    if tenant_slug:
        memberships = memberships.filter(tenant__slug=tenant_slug.lower())
    return memberships.order_by("created").first()


def api_key_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def api_key_get_by_secret(*, secret: str) -> ApiKey | None:
    """The live key for a presented secret (`bk_<prefix>_<random>`), or None."""
    parts = secret.split("_", 2)  # the random part may itself contain "_"
    if len(parts) != 3 or not parts[1]:
        return None
    api_key = cached(
        f"api_key:{api_key_hash(secret)}",
        keep=lambda key: key is not None,  # not an unknown secret: made-up ones would fill it
        load=lambda: (
            ApiKey.objects.select_related("tenant")
            .filter(prefix=parts[1], revoked_at__isnull=True)
            .first()
        ),
    )
    if api_key is None:
        return None
    # Constant-time comparison of the hashes: a timing difference must not reveal a prefix match.
    return api_key if hmac.compare_digest(api_key.key_hash, api_key_hash(secret)) else None


def api_key_list(*, tenant: Tenant) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(tenant=tenant, revoked_at__isnull=True)


def api_key_get(*, tenant: Tenant, api_key_id) -> ApiKey | None:
    try:
        return api_key_list(tenant=tenant).filter(id=uuid.UUID(str(api_key_id))).first()
    except ValueError:
        return None


def billing_status_key(schema_name: str) -> str:
    """The per-process cache entry of a tenant's billing status: the writers of what it reads
    (invoice states, the billing account) drop it with tenants.cache.key_changed."""
    return f"billing_status:{schema_name}"


def tenant_billing_status(*, tenant: Tenant) -> str:
    """`overdue` (an open invoice past its due date, marked by invoicing's daily job), else `past_due`
    (the tenant's subscription past_due or unpaid, as its BillingAccount says), else `ok`."""
    # Inside the function: billing apps build on tenants, not the other way round.
    from invoicing.selectors import OVERDUE_INVOICE_SQL
    from subscriptions.selectors import PAST_DUE_SQL

    def load() -> str:
        # Both questions in one statement, and the answer kept per process until a writer says it
        # changed: GET /api/v1/tenants/current asks on every call, and the round trip to the
        # database cost more than the rest of that request (issue 21).
        with schema_context(tenant.schema_name), connection.cursor() as cursor:
            cursor.execute(
                f"SELECT EXISTS ({OVERDUE_INVOICE_SQL}), EXISTS ({PAST_DUE_SQL})", [tenant.pk]
            )
            overdue, past_due = cursor.fetchone()
        if overdue:
            return "overdue"
        return "past_due" if past_due else "ok"

    return cached(billing_status_key(tenant.schema_name), load)


def tenant_current_rendered(*, tenant: Tenant, render: Callable[[str], T]) -> T:
    """`render(billing status)` of the tenant (GET /api/v1/tenants/current), kept per process as
    plan_list_public_rendered keeps the catalog: per tenant, dropped with the tenant's other cached
    reads when it changes, and per billing status, which changes on its own."""
    status = tenant_billing_status(tenant=tenant)
    return cached(f"tenant_current:{tenant.pk}:{status}", lambda: render(status))
