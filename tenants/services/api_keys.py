"""Per-tenant API keys: shown once, stored as a SHA-256 of the secret."""

import secrets
from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from billing_project.errors import InvalidRequest, NotFound
from tenants import selectors
from tenants.models import ApiKey, Tenant, User
from tenants.services.audit import audit_record

TENANT_KEY_ROLES = ("owner", "billing_admin", "viewer", "ingest")


@transaction.atomic
def api_key_create(
    *,
    tenant: Tenant | None,
    name: str,
    role: str,
    created_by: User | None = None,
    actor: str = "system",
) -> tuple[ApiKey, str]:
    """Create a key; returns (key, secret). The secret is never stored and cannot be shown again.

    A tenant key takes a tenant role or `ingest`; `tenant=None` makes a platform key (role `platform`).
    """
    allowed = ("platform",) if tenant is None else TENANT_KEY_ROLES
    if role not in allowed:
        raise InvalidRequest(
            f"role must be one of {', '.join(allowed)}.", detail={"role": ["Unknown role."]}
        )
    if not name.strip():
        raise InvalidRequest("name: Required.", detail={"name": ["Required."]})
    prefix = secrets.token_hex(6)
    secret = f"bk_{prefix}_{secrets.token_urlsafe(32)}"
    api_key = ApiKey.objects.create(
        tenant=tenant,
        name=name.strip(),
        role=role,
        prefix=prefix,
        key_hash=selectors.api_key_hash(secret),
        created_by=created_by,
    )
    audit_record(
        actor=actor,
        action="api_key.create",
        tenant=tenant,
        target=prefix,
        after={"name": name, "role": role},
    )
    return api_key, secret


def api_key_mark_used(*, api_key: ApiKey) -> None:
    """Record that a key was used, at most once a minute (no write on every request)."""
    now = timezone.now()
    if api_key.last_used_at and api_key.last_used_at >= now - timedelta(minutes=1):
        return  # the row just read says it is fresh: no write (and no commit flush) on the hot path
    ApiKey.objects.filter(pk=api_key.pk).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - timedelta(minutes=1))
    ).update(last_used_at=now)
    api_key.last_used_at = now  # the instance may be the cached one: no write again for a minute


@transaction.atomic
def api_key_revoke(*, tenant: Tenant, api_key_id: object, actor: str = "system") -> ApiKey:
    """Revoke a tenant's key; it stops working on the next request."""
    api_key = selectors.api_key_get(tenant=tenant, api_key_id=api_key_id)
    if api_key is None:
        raise NotFound("No such API key.")
    api_key.revoked_at = timezone.now()
    api_key.save(update_fields=["revoked_at"])
    audit_record(actor=actor, action="api_key.revoke", tenant=tenant, target=api_key.prefix)
    return api_key
