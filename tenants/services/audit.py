from typing import Any

from tenants.models import AuditEvent, Tenant


def audit_record(
    *,
    actor: str,
    action: str,
    tenant: Tenant | None = None,
    target: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    """Write one audit row. Called inside the caller's transaction, so the row exists iff the change does."""
    return AuditEvent.objects.create(
        tenant=tenant, actor=actor, action=action, target=target, before=before, after=after
    )
