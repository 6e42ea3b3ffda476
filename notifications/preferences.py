"""Defaults of a tenant's notification preferences: what a new tenant gets without choosing."""

from notifications.events import KINDS

EMAIL, SLACK, IN_APP = "email", "slack", "in_app"

# Email for whatever a billing contact must act on or keep (receipts, invoices); Slack for what a
# team should see at once; in-app for everything. A retry notice adds nothing the failed-payment
# email did not say, so it stays in-app.
DEFAULT_CHANNELS: dict[str, list[str]] = {
    "payment_failed": [EMAIL, SLACK, IN_APP],
    "payment_succeeded": [EMAIL, IN_APP],
    "payment_retry_scheduled": [IN_APP],
    # 3-D Secure: nothing happens until the customer confirms, so the email is the point.
    "payment_action_required": [EMAIL, IN_APP],
    "invoice_finalized": [EMAIL, IN_APP],
    "invoice_overdue": [EMAIL, SLACK, IN_APP],
    "trial_ending": [EMAIL, IN_APP],
    "usage_threshold_reached": [EMAIL, IN_APP],
    "usage_limit_exceeded": [EMAIL, SLACK, IN_APP],
    "subscription_cancel_scheduled": [EMAIL, IN_APP],
    "subscription_canceled": [EMAIL, SLACK, IN_APP],
    "card_expiring": [EMAIL, IN_APP],
    "refund_issued": [EMAIL, IN_APP],
    "credit_balance_low": [EMAIL, IN_APP],
    "budget_threshold_reached": [EMAIL, IN_APP],
    "webhook_endpoint_disabled": [EMAIL, IN_APP],
}
assert set(DEFAULT_CHANNELS) == set(KINDS), "every billing event kind needs default channels"


# The invoice and its receipts also go to every invoice email of the billing details (the buyer's
# accounts payable, who may not be a member): what Stripe itself sends to a customer's address.
BILLING_CONTACT_KINDS = frozenset({"invoice_finalized", "payment_succeeded", "refund_issued"})


def channels_for(preference, kind: str) -> list[str]:
    """The channels the tenant wants for `kind` (its choice, else the default)."""
    chosen = (preference.channels or {}).get(kind)
    return list(chosen) if chosen is not None else list(DEFAULT_CHANNELS.get(kind, [IN_APP]))
