"""Minimum commitments and progressive billing: writes (one module per sub-domain).

- `terms`: finance staff set a plan's or a tenant's minimum commitment and usage threshold.
- `true_ups`: the minimum commitment's true-up line on the renewal draft, once per period.
- `thresholds`: progressive billing, usage invoiced when it reaches the threshold.
"""

from commitments.services.terms import plan_terms_set, subscription_terms_set
from commitments.services.thresholds import (
    usage_threshold_check,
    usage_threshold_check_soon,
    usage_threshold_debounce,
)
from commitments.services.true_ups import commitment_true_up

__all__ = [
    "commitment_true_up",
    "plan_terms_set",
    "subscription_terms_set",
    "usage_threshold_check",
    "usage_threshold_check_soon",
    "usage_threshold_debounce",
]
