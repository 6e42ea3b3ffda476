"""Audited edits of platform rows that change money (plan prices and limits, the billing policy).

Zulip's rule (../shared/STYLE.md): a state-changing action owns its transaction and writes its audit
row in it, so the row exists iff the change does. One helper serves every such edit.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.db import models, transaction

from tenants.models import Tenant
from tenants.services.audit import audit_record

M = TypeVar("M", bound=models.Model)


def record_edit(
    *,
    instance: M,
    changes: dict[str, Any],
    actor: str,
    action: str,
    target: str,
    tenant: Tenant | None = None,
) -> tuple[M, dict[str, tuple[Any, Any]]]:
    """Apply `changes` (field -> value) to the saved row of `instance`, locked for the transaction,
    validate (`full_clean`), save, and write ONE audit row with the before/after of the fields that
    really changed. Returns (the saved row, {field: (before, after)}); nothing changed = no save, no row.

    The row is re-read under the lock, so the "before" is what was stored, not what an admin form saw
    (two finance users editing at once each audit their own change)."""
    with transaction.atomic():
        row = type(instance)._default_manager.select_for_update().get(pk=instance.pk)
        diff = {
            field: (getattr(row, field), value)
            for field, value in changes.items()
            if getattr(row, field) != value
        }
        if not diff:
            return row, {}
        for field, (_before, after) in diff.items():
            setattr(row, field, after)
        row.full_clean()
        row.save()
        audit_record(
            actor=actor,
            action=action,
            tenant=tenant,
            target=target,
            before={field: before for field, (before, _after) in diff.items()},
            after={field: after for field, (_before, after) in diff.items()},
        )
    return row, diff


def record_create(
    *,
    instance: M,
    actor: str,
    action: str,
    target_field: str,
    tenant: Tenant | None = None,
    fields: list[str],
) -> M:
    """Validate and save a new row with one audit row (before null, after the given fields)."""
    instance.full_clean()
    with transaction.atomic():
        instance.save()
        audit_record(
            actor=actor,
            action=action,
            tenant=tenant,
            target=str(getattr(instance, target_field)),
            before=None,
            after={field: getattr(instance, field) for field in fields},
        )
    return instance
