"""Prepaid credits' reactions to Stripe events (registry: billing_project.stripe_gateway.webhooks).

- a finalized (or paid) invoice: account for the credit Stripe applied to it (once per invoice),
  then auto top-up when the balance fell below the wallet's threshold;
- a top-up PaymentIntent that succeeded after 3-D Secure: grant the credit it bought (once).
"""

from __future__ import annotations

from billing_project.stripe_gateway.webhooks import StripeEvent, stripe_webhook
from credits import services


@stripe_webhook("invoice.finalized", "invoice.paid", fresh=True)
def invoice_credit_applied(event: StripeEvent) -> str:
    record = services.credits_apply_invoice(tenant=event.tenant, invoice=event.object)
    services.credits_auto_top_up(tenant=event.tenant, invoice_id=event.object["id"])
    return f"credit applied {record.amount}" if record is not None else "no credit"


@stripe_webhook("payment_intent.succeeded")
def top_up_succeeded(event: StripeEvent) -> str:
    grant = services.credit_top_up_record(tenant=event.tenant, intent=event.object, actor="stripe")
    return f"credit grant {grant.pk}" if grant is not None else "not a top-up"
