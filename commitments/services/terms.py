"""Finance staff set a plan's default and one tenant's own minimum commitment and usage threshold
(audited)."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from commitments.models import PlanTerms, SubscriptionTerms
from commitments.services.common import _check_amount
from tenants.services import audit_record


def _terms_write(model, lookup: dict, *, actor: str, target: str, tenant, **values) -> Any:
    for name, value in values.items():
        _check_amount(name, value)
    with transaction.atomic():
        row, _ = model.objects.select_for_update().get_or_create(**lookup)
        before = {name: getattr(row, name) for name in values}
        for name, value in values.items():
            setattr(row, name, value)
        row.full_clean()
        row.save()
        audit_record(
            actor=actor,
            action="commitments.terms",
            tenant=tenant,
            target=target,
            before=before,
            after=values,
        )
    return row


def subscription_terms_set(
    *, tenant, minimum_commitment: int | None, usage_threshold: int | None, actor: str
) -> SubscriptionTerms:
    """Finance staff set one tenant's minimum commitment and usage threshold (None: the plan's);
    audited."""
    return _terms_write(
        SubscriptionTerms,
        {"tenant": tenant},
        actor=actor,
        target=f"subscription_terms:{tenant.slug}",
        tenant=tenant,
        minimum_commitment=minimum_commitment,
        usage_threshold=usage_threshold,
    )


def plan_terms_set(
    *, plan, minimum_commitment: int | None, usage_threshold: int | None, actor: str
) -> PlanTerms:
    """Finance staff set a plan's default minimum commitment and usage threshold; audited."""
    return _terms_write(
        PlanTerms,
        {"plan": plan},
        actor=actor,
        target=f"plan_terms:{plan.code}",
        tenant=None,
        minimum_commitment=minimum_commitment,
        usage_threshold=usage_threshold,
    )
