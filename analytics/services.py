"""Writes of the analytics facts: the MRR movement ledger (from subscription events), the invoice
and refund facts (from invoice and credit note events), and the rebuild from the local mirror.

Every writer is idempotent: a redelivered or replayed event finds the fact already as it would make
it. Dates are the tenant's (its Stripe test clock's when it has one): the event's `created`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import cast

from django.db import transaction

from analytics.models import InvoiceFact, MovementKind, MrrMovement, RefundFact, SubscriptionFact
from analytics.mrr import Snapshot, coupon_terms, snapshot_of, subscription_start
from billing_project.timestamps import from_ts


def plans_by_price() -> dict:
    """Stripe price id -> (plan, cycle), for every plan of the catalog (one query)."""
    from subscriptions.models import Plan

    mapping = {}
    for plan in Plan.objects.all():
        if plan.stripe_price_id:
            mapping[plan.stripe_price_id] = (plan, "monthly")
        if plan.stripe_price_id_yearly:
            mapping[plan.stripe_price_id_yearly] = (plan, "yearly")
    return mapping


def recurring_coupons(*, tenant, subscription: dict) -> list[dict]:
    """The coupons (coupons app) applied to this subscription, when Stripe still lists a discount."""
    from coupons.models import CouponRedemption

    if not subscription or not subscription.get("discounts"):
        return []
    redemptions = CouponRedemption.objects.select_related("coupon").filter(
        tenant=tenant, subscription_id=subscription.get("id", "-"), status="applied"
    )
    start = subscription_start(subscription)
    return [coupon_terms(r.coupon, start=start) for r in redemptions]


def _month(day: date) -> date:
    return day.replace(day=1)


def _kind(before: int, after: int, ever_paid: bool) -> str:
    if before == 0:
        return MovementKind.REACTIVATION if ever_paid else MovementKind.NEW
    if after == 0:
        return MovementKind.CHURN
    return MovementKind.EXPANSION if after > before else MovementKind.CONTRACTION


def movement_apply(*, tenant, snapshot: Snapshot, at: datetime, source: str = "") -> list:
    """Measure the tenant's new subscription snapshot against its last fact and record the movements
    (an MRR change, or a status change with none). A change of currency churns the old currency's
    MRR and starts the new one: currencies are never netted. Returns the rows written."""
    with transaction.atomic():
        SubscriptionFact.objects.get_or_create(tenant=tenant)
        fact = SubscriptionFact.objects.select_for_update().get(tenant=tenant)
        if fact.as_of and at < fact.as_of:
            at = fact.as_of  # a late delivery: the ledger never goes back in time
        day = at.date()
        rows = []

        def row(currency, before, after, kind, status_before, status_after, plan_before):
            rows.append(
                MrrMovement(
                    tenant=tenant,
                    subscription_id=snapshot.subscription_id or fact.subscription_id,
                    occurred_at=at,
                    day=day,
                    month=_month(day),
                    currency=currency,
                    kind=kind,
                    mrr_before=before,
                    mrr_after=after,
                    delta=after - before,
                    status_before=status_before,
                    status_after=status_after,
                    plan_before=plan_before,
                    plan_after=snapshot.plan_code,
                    source=source[:100],
                )
            )

        before, ever_paid, status_before = fact.mrr, fact.ever_paid, fact.status
        currency = snapshot.currency or fact.currency
        if fact.currency and snapshot.currency and fact.currency != snapshot.currency:
            # Each row moves one subscription from status_before to status_after in its currency,
            # so status counts are cumulative sums of the rows, as MRR is of the deltas.
            row(
                fact.currency,
                before,
                0,
                MovementKind.CHURN if before else MovementKind.STATUS,
                fact.status,
                "",
                fact.plan_code,
            )
            before, status_before = 0, ""
        changed_state = (fact.status, fact.plan_code, fact.subscription_id) != (
            snapshot.status,
            snapshot.plan_code,
            snapshot.subscription_id or fact.subscription_id,
        )
        if currency and snapshot.mrr != before:
            row(
                currency,
                before,
                snapshot.mrr,
                _kind(before, snapshot.mrr, ever_paid),
                status_before,
                snapshot.status,
                fact.plan_code,
            )
        elif (
            currency
            and (changed_state or status_before != snapshot.status)
            and (status_before or snapshot.status)
        ):
            row(
                currency,
                before,
                before,
                MovementKind.STATUS,
                status_before,
                snapshot.status,
                fact.plan_code,
            )
        MrrMovement.objects.bulk_create(rows)
        fact.subscription_id = snapshot.subscription_id or fact.subscription_id
        fact.status, fact.plan_code = snapshot.status, snapshot.plan_code
        fact.billing_cycle, fact.currency = snapshot.billing_cycle, currency
        fact.mrr = snapshot.mrr
        fact.ever_paid = ever_paid or snapshot.mrr > 0
        fact.as_of = at
        fact.save()
    return rows


def subscription_fact_record(*, tenant, at: datetime, source: str = "") -> list:
    """Record the tenant's subscription as its billing account and dj-stripe's mirror hold it now
    (the subscriptions handler has just pulled it from Stripe, so the order of deliveries does not
    matter), at the event's time."""
    from djstripe.models import Subscription

    from subscriptions.models import BillingAccount

    account = BillingAccount.objects.select_related("previous_plan").filter(tenant=tenant).first()
    if account is None or not account.subscription_id:
        return []
    mirrored = Subscription.objects.filter(id=account.subscription_id).first()
    data = dict(mirrored.stripe_data) if mirrored is not None else None
    if data is None:
        return []
    snapshot = snapshot_of(
        data,
        at=at,
        plans_by_price=plans_by_price(),
        coupons=recurring_coupons(tenant=tenant, subscription=data),
        previous_plan=account.previous_plan,
        previous_plan_until=account.previous_plan_until,
    )
    return movement_apply(tenant=tenant, snapshot=snapshot, at=at, source=source)


def metered_price_ids() -> set[str]:
    """The catalog's metered (overage) Stripe prices: their invoice lines are usage revenue."""
    from subscriptions.models import Plan

    ids = set()
    for monthly, yearly in Plan.objects.values_list(
        "stripe_overage_price_id", "stripe_overage_price_id_yearly"
    ):
        ids |= {monthly, yearly} - {""}
    return ids


def _is_metered_line(line: dict, metered: set[str]) -> bool:
    pricing = (line.get("pricing") or {}).get("price_details") or {}
    price = line.get("price") or pricing.get("price") or {}
    if isinstance(price, dict):
        return (price.get("recurring") or {}).get("usage_type") == "metered"
    return price in metered


def invoice_fact_record(
    *, tenant, invoice: dict, event_type: str = "", at=None
) -> InvoiceFact | None:
    """Keep the fact of one (finalized) invoice: its amounts, dates and dunning outcome. A draft is
    not a receivable yet and is left out."""
    if invoice.get("status") in (None, "draft"):
        return None
    transitions = invoice.get("status_transitions") or {}
    finalized = from_ts(transitions.get("finalized_at")) or from_ts(invoice.get("created"))
    paid = from_ts(transitions.get("paid_at"))
    due = from_ts(invoice.get("due_date")) or finalized
    lines = (invoice.get("lines") or {}).get("data") or []
    metered = metered_price_ids()
    usage = sum(int(line.get("amount") or 0) for line in lines if _is_metered_line(line, metered))
    with transaction.atomic():
        fact, _ = InvoiceFact.objects.select_for_update().get_or_create(
            invoice_id=invoice["id"],
            defaults={
                "tenant": tenant,
                "currency": invoice["currency"],
                "status": invoice["status"],
            },
        )
        fact.tenant = tenant
        fact.number = invoice.get("number") or ""
        fact.subscription_id = _subscription_of(invoice)
        fact.currency = invoice["currency"].lower()
        fact.status = invoice["status"]
        fact.total = int(invoice.get("total") or 0)
        fact.amount_paid = int(invoice.get("amount_paid") or 0)
        fact.amount_remaining = int(invoice.get("amount_remaining") or 0)
        fact.usage_amount = usage
        fact.finalized_on = finalized.date() if finalized else None
        fact.due_on = due.date() if due else None
        fact.paid_on = paid.date() if paid and invoice["status"] == "paid" else None
        if event_type == "invoice.payment_failed" and fact.first_failed_on is None:
            # A Stripe invoice has its `created`.
            fact.first_failed_on = cast(datetime, at or from_ts(invoice.get("created"))).date()
        fact.recovered = bool(fact.first_failed_on and invoice["status"] == "paid")
        fact.save()
    return fact


def _subscription_of(invoice: dict) -> str:
    sub = invoice.get("subscription")
    if not sub:
        details = (invoice.get("parent") or {}).get("subscription_details") or {}
        sub = details.get("subscription")
    if isinstance(sub, dict):
        sub = sub.get("id")
    return sub or ""


def refund_fact_record(*, tenant, credit_note: dict) -> RefundFact | None:
    """Keep a credit note's refunded amount (what was paid back) on its date; voided ones drop out."""
    if credit_note.get("status") == "void":
        RefundFact.objects.filter(credit_note_id=credit_note["id"]).delete()
        return None
    invoice = credit_note.get("invoice")
    fact, _ = RefundFact.objects.update_or_create(
        credit_note_id=credit_note["id"],
        defaults={
            "tenant": tenant,
            "invoice_id": cast(
                str, invoice.get("id") if isinstance(invoice, dict) else (invoice or "")
            ),
            "currency": credit_note["currency"].lower(),
            "amount": int(credit_note.get("refund_amount") or 0),
            "credited": int(credit_note.get("total") or credit_note.get("amount") or 0),
            "day": cast(datetime, from_ts(credit_note.get("created"))).date(),
        },
    )
    return fact
