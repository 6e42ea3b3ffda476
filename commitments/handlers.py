"""Commitments' reactions to Stripe events (registry: billing_project.stripe_gateway.webhooks).

- a renewal's `invoice.created` (a draft Stripe keeps open for the application): the minimum
  commitment's true-up line, once per period.
"""

from __future__ import annotations

from billing_project.stripe_gateway.webhooks import StripeEvent, stripe_webhook
from commitments import services


@stripe_webhook("invoice.created", fresh=True)
def renewal_true_up(event: StripeEvent) -> str:
    record = services.commitment_true_up(tenant=event.tenant, invoice=event.object)
    return f"true-up {record.amount}" if record is not None else "no true-up"
