"""Rebuild the analytics facts from the local copies: the Stripe events this service stored
(subscriptions.WebhookEvent, each subscription as it was when the event happened), dj-stripe's
mirror (the current subscriptions and invoices) and the billing accounts. No Stripe call.

Per tenant, inside one transaction: its facts are deleted and rebuilt, so a rebuild can run while
webhooks keep arriving (the row lock on the tenant's SubscriptionFact orders them).
"""

from __future__ import annotations

from django.db import transaction

from analytics import revenue, services
from analytics.models import (
    InvoiceFact,
    MrrMovement,
    RefundFact,
    RevenueSchedule,
    SubscriptionFact,
)
from analytics.mrr import snapshot_of
from billing_project.timestamps import from_ts
from subscriptions.handlers import SUBSCRIPTION_EVENTS

LIVE = ("trialing", "active", "past_due", "unpaid", "incomplete")


def _events(account, types):
    from subscriptions.models import WebhookEvent

    return (
        WebhookEvent.objects.filter(tenant=account.tenant, type__in=types)
        .exclude(status=WebhookEvent.Status.FAILED)
        .order_by("stripe_created", "received")
    )


def tenant_rebuild(*, account, plans: dict) -> int:
    """Rebuild one tenant's facts; returns the number of movements written."""
    from djstripe.models import Invoice, Subscription

    tenant = account.tenant
    written = 0
    with transaction.atomic():
        SubscriptionFact.objects.filter(tenant=tenant).delete()
        MrrMovement.objects.filter(tenant=tenant).delete()
        InvoiceFact.objects.filter(tenant=tenant).delete()
        RefundFact.objects.filter(tenant=tenant).delete()
        RevenueSchedule.objects.filter(tenant=tenant).delete()
        current = ""
        for event in _events(account, SUBSCRIPTION_EVENTS):
            data = (event.payload.get("data") or {}).get("object") or {}
            live = data.get("status") in LIVE
            if current and data.get("id") != current and not live:
                continue  # a late word about an older subscription: the newer one is the state
            if live or not current:
                current = data.get("id", "")
            at = from_ts(event.payload.get("created")) or event.received
            written += _apply(tenant, account, data, at, plans, f"backfill:{event.event_id}")
        if account.subscription_id:
            mirrored = Subscription.objects.filter(id=account.subscription_id).first()
            if mirrored is not None:
                from subscriptions.selectors import tenant_now

                at = tenant_now(account=account)
                fact = SubscriptionFact.objects.filter(tenant=tenant).first()
                if fact is not None and fact.as_of and fact.as_of > at:
                    at = fact.as_of
                written += _apply(
                    tenant, account, dict(mirrored.stripe_data), at, plans, "backfill:mirror"
                )
        failed = {}
        for event in _events(account, ["invoice.payment_failed"]):
            invoice_id = ((event.payload.get("data") or {}).get("object") or {}).get("id")
            if invoice_id and invoice_id not in failed:
                failed[invoice_id] = from_ts(event.payload.get("created")) or event.received
        if account.stripe_customer_id:
            for invoice in Invoice.objects.filter(customer__id=account.stripe_customer_id):
                data = dict(invoice.stripe_data)
                if not data.get("id"):
                    continue
                invoice_fact = services.invoice_fact_record(tenant=tenant, invoice=data)
                revenue.schedules_record(tenant=tenant, invoice=data)
                if invoice_fact is not None and data["id"] in failed:
                    services.invoice_fact_record(
                        tenant=tenant,
                        invoice=data,
                        event_type="invoice.payment_failed",
                        at=failed[data["id"]],
                    )
        latest = {}
        for event in _events(
            account, ["credit_note.created", "credit_note.updated", "credit_note.voided"]
        ):
            note = (event.payload.get("data") or {}).get("object") or {}
            if note.get("id"):
                latest[note["id"]] = note
        for note in latest.values():
            services.refund_fact_record(tenant=tenant, credit_note=note)
            revenue.reversal_record(credit_note=note)
    return written


def _apply(tenant, account, data, at, plans, source) -> int:
    snapshot = snapshot_of(
        data,
        at=at,
        plans_by_price=plans,
        coupons=services.recurring_coupons(tenant=tenant, subscription=data),
        previous_plan=account.previous_plan,
        previous_plan_until=account.previous_plan_until,
    )
    return len(services.movement_apply(tenant=tenant, snapshot=snapshot, at=at, source=source))


def accounts_to_rebuild(*, tenant_slug: str | None = None):
    from subscriptions.models import BillingAccount

    accounts = BillingAccount.objects.select_related("tenant", "previous_plan").order_by(
        "tenant_id"
    )
    if tenant_slug:
        accounts = accounts.filter(tenant__slug=tenant_slug)
    return accounts
