"""Reads of the platform's billing policy."""

from django.conf import settings

from policies.models import BillingPolicy


def _defaults() -> dict:
    return {
        "retry_days": list(settings.DUNNING_RETRY_DAYS),
        "hard_decline_codes": list(settings.DUNNING_HARD_DECLINE_CODES),
        "end_state": settings.DUNNING_END_STATE,
        "refund_approval_threshold": settings.REFUND_APPROVAL_THRESHOLD,
        "auto_charge_due_days": settings.INVOICE_AUTO_CHARGE_DUE_DAYS,
        "overdue_grace_days": settings.INVOICE_OVERDUE_GRACE_DAYS,
    }


def policy_get() -> BillingPolicy:
    """The policy row; created from settings on first read, then edited in the admin."""
    policy, _ = BillingPolicy.objects.get_or_create(pk=1, defaults=_defaults())
    return policy
