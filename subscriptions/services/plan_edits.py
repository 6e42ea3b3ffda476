"""Finance's edits of the plan catalog (prices, limits, usage policy), each audited with before/after.

Stripe is not called here: prices there are immutable, so a changed amount reaches Stripe with the
catalog sync (`plan_sync_to_stripe`, the admin's "Sync selected plans to Stripe"), which audits its own
changes.
"""

from __future__ import annotations

from typing import Any

from subscriptions.models import Plan
from tenants.services.edits import record_create, record_edit

# What a plan row holds that finance edits; the Stripe ids are the catalog sync's.
EDITABLE_FIELDS = [
    "code",
    "name",
    "description",
    "currency",
    "price_monthly",
    "price_yearly",
    "features",
    "feature_keys",
    "limits",
    "hard_limits",
    "alert_thresholds",
    "overage_resource",
    "overage_unit_amount",
    "overage_block_size",
    "is_public",
    "is_active",
    "trial_days",
    "trial_without_card",
]


def _editable(changes: dict[str, Any]) -> dict[str, Any]:
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"not editable here: {', '.join(sorted(unknown))}")
    return changes


def plan_create(*, actor: str, **fields: Any) -> Plan:
    """Create a plan (validated) with an audit row `plan.create` holding its definition."""
    plan = Plan(**_editable(fields))
    return record_create(
        instance=plan,
        actor=actor,
        action="plan.create",
        target_field="code",
        fields=[field for field in EDITABLE_FIELDS if field in fields],
    )


def plan_update(
    *, plan: Plan, changes: dict[str, Any], actor: str
) -> tuple[Plan, dict[str, tuple[Any, Any]]]:
    """Change a plan's fields (validated); one audit row `plan.update` with the before/after of what
    changed. Returns (plan, {field: (before, after)})."""
    return record_edit(
        instance=plan,
        changes=_editable(changes),
        actor=actor,
        action="plan.update",
        target=changes.get("code", plan.code),
    )
