"""Reads of the platform's billing policy. Nothing here writes: the row is created by
`policies.services.policy_ensure` / `policy_update` (the admin's edit)."""

from django.conf import settings

from policies.models import BillingPolicy


def policy_defaults() -> dict:
    """The policy the settings give, in force until finance first edits it."""
    return {
        "retry_days": list(settings.DUNNING_RETRY_DAYS),
        "hard_decline_codes": list(settings.DUNNING_HARD_DECLINE_CODES),
        "end_state": settings.DUNNING_END_STATE,
        "refund_approval_threshold": settings.REFUND_APPROVAL_THRESHOLD,
        "refund_approval_thresholds": dict(settings.REFUND_APPROVAL_THRESHOLDS),
        "auto_charge_due_days": settings.INVOICE_AUTO_CHARGE_DUE_DAYS,
        "overdue_grace_days": settings.INVOICE_OVERDUE_GRACE_DAYS,
    }


def policy_get() -> BillingPolicy:
    """The stored policy row, or (never edited yet) an unsaved one holding the settings' defaults."""
    return BillingPolicy.objects.filter(pk=1).first() or BillingPolicy(pk=1, **policy_defaults())
