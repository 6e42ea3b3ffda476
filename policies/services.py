"""Writes of the platform's billing policy (dunning schedule, refund approval threshold, due days)."""

from __future__ import annotations

from policies.models import BillingPolicy
from policies.selectors import policy_defaults
from tenants.services.edits import record_edit

EDITABLE_FIELDS = [
    "retry_days",
    "hard_decline_codes",
    "end_state",
    "refund_approval_threshold",
    "refund_approval_thresholds",
    "auto_charge_due_days",
    "overdue_grace_days",
]


def policy_ensure() -> BillingPolicy:
    """The stored policy row, created from the settings' defaults when there is none yet (idempotent)."""
    # get_or_create re-reads on a concurrent insert's IntegrityError (pk 1 is the only row allowed).
    return BillingPolicy.objects.get_or_create(pk=1, defaults=policy_defaults())[0]


def policy_update(*, changes: dict, actor: str) -> tuple[BillingPolicy, dict]:
    """Change the policy (validated); one audit row `policy.update` with the before/after of what
    changed (a first edit's "before" is the settings' defaults the service ran on until then).
    Returns (policy, {field: (before, after)})."""
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"not editable here: {', '.join(sorted(unknown))}")
    return record_edit(
        instance=policy_ensure(),
        changes=changes,
        actor=actor,
        action="policy.update",
        target="billing_policy",
    )
