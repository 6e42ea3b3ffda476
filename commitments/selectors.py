"""Minimum commitments and progressive billing: reads, always for one tenant."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet, Sum

from commitments.models import CommitmentTrueUp, PlanTerms, SubscriptionTerms, ThresholdInvoice
from subscriptions.models import BillingAccount
from subscriptions.selectors import billing_account_get


@dataclass(frozen=True)
class Terms:
    """A tenant's effective terms, minor units of `currency` (None = none)."""

    minimum_commitment: int | None
    usage_threshold: int | None
    currency: str
    # Where each value comes from: "subscription" (staff set it for this tenant), "plan" or "".
    commitment_source: str = ""
    threshold_source: str = ""


def terms_currency(account: BillingAccount | None) -> str:
    """The currency a tenant's terms are in: its plan's; USD before it has one."""
    plan = account.plan if account is not None else None
    return plan.currency if plan is not None else "usd"


def terms_get(*, tenant) -> Terms:
    """The tenant's own values where staff set them, else its plan's defaults."""
    account = billing_account_get(tenant=tenant)
    plan = account.plan if account is not None else None
    own = SubscriptionTerms.objects.filter(tenant=tenant).first()
    default = PlanTerms.objects.filter(plan=plan).first() if plan is not None else None
    values = {}
    for name in ("minimum_commitment", "usage_threshold"):
        mine = getattr(own, name) if own is not None else None
        if mine is not None:
            values[name] = (mine, "subscription")
        elif default is not None and getattr(default, name) is not None:
            values[name] = (getattr(default, name), "plan")
        else:
            values[name] = (None, "")
    return Terms(
        minimum_commitment=values["minimum_commitment"][0],
        usage_threshold=values["usage_threshold"][0],
        currency=terms_currency(account),
        commitment_source=values["minimum_commitment"][1],
        threshold_source=values["usage_threshold"][1],
    )


def true_up_list(*, tenant) -> QuerySet[CommitmentTrueUp]:
    return CommitmentTrueUp.objects.filter(tenant=tenant)


def threshold_invoice_list(*, tenant) -> QuerySet[ThresholdInvoice]:
    return ThresholdInvoice.objects.filter(tenant=tenant)


def threshold_billed(*, tenant, subscription_id: str, period_start) -> int:
    """Usage charges of one period already billed by threshold invoices (minor units)."""
    total = ThresholdInvoice.objects.filter(
        tenant=tenant, subscription_id=subscription_id, period_start=period_start
    ).aggregate(total=Sum("amount"))["total"]
    return int(total or 0)


# --- what Stripe billed: the period's spend and its usage charges so far ---------------------------

# The `purpose` metadata of the invoice items this app adds (and so of their invoice lines).
TRUE_UP = "commitment_true_up"
THRESHOLD = "usage_threshold"
THRESHOLD_CREDIT = "usage_threshold_credit"
# Invoices that bill (a draft is not billed yet; a void one no longer is).
BILLED_STATUSES = ("open", "paid", "uncollectible")


def _line_subscription(line) -> str | None:
    parent = line.get("parent") or {}
    for key in ("subscription_item_details", "invoice_item_details"):
        details = parent.get(key) or {}
        if details.get("subscription"):
            return details["subscription"]
    return line.get("subscription")


def _net(line) -> int:
    """The line's amount after its discounts."""
    return int(line["amount"]) - sum(int(d["amount"]) for d in line.get("discount_amounts") or [])


def _lines(invoice) -> list:
    from billing_project.stripe_gateway import invoices as stripe_invoices

    block = invoice.get("lines") or {}
    if block.get("has_more") and invoice.get("id"):
        return list(stripe_invoices.invoice_lines(invoice["id"]))
    return list(block.get("data") or [])


def _in_period(line, start: int, end: int) -> bool:
    period = line.get("period") or {}
    return (
        period.get("start") is not None
        and start <= int(period["start"])
        and int(period["end"]) <= end
    )


def period_spend(
    *, customer_id: str, subscription_id: str, start: int, end: int, extra: tuple = ()
) -> int:
    """What the subscription's period [start, end] cost after discounts, from Stripe's invoices:
    its plan, usage and proration lines on every billed invoice (and on the `extra` ones: the draft
    renewal, or the upcoming invoice's preview), threshold invoices' usage and the renewal's
    deduction of it (which cancel out), never a true-up."""
    from billing_project.stripe_gateway import invoices as stripe_invoices

    invoices = {i["id"]: i for i in extra}
    for invoice in stripe_invoices.invoice_list(customer_id=customer_id):
        if invoice["status"] in BILLED_STATUSES and invoice["id"] not in invoices:
            invoices[invoice["id"]] = invoice
    spent = 0
    for invoice in invoices.values():
        for line in _lines(invoice):
            metadata = line.get("metadata") or {}
            purpose = metadata.get("purpose")
            if purpose == TRUE_UP or not _in_period(line, start, end):
                continue
            if purpose == THRESHOLD:
                ours = metadata.get("subscription") == subscription_id
            else:
                ours = _line_subscription(line) == subscription_id
            if ours:
                spent += _net(line)
    return spent


def upcoming_preview(*, customer_id: str, subscription_id: str):
    """Stripe's preview of the subscription's next invoice: the current period's usage so far."""
    from billing_project.stripe_gateway import invoices as stripe_invoices

    return stripe_invoices.invoice_preview(
        params={"customer": customer_id, "subscription": subscription_id}
    )


def usage_charges(preview) -> int:
    """The metered (usage) charges of the current period in an upcoming invoice's preview."""
    from invoicing.selectors import line_kind

    start, end = int(preview["period_start"]), int(preview["period_end"])
    cache: dict = {}
    return sum(
        int(line["amount"])
        for line in _lines(preview)
        if _in_period(line, start, end) and line_kind(dict(line), cache) == ("usage", False)
    )


@dataclass(frozen=True)
class CommitmentProgress:
    committed: int | None
    spent: int
    usage: int
    threshold: int | None
    currency: str
    period_start: int | None
    period_end: int | None


def commitment_progress(*, tenant) -> CommitmentProgress | None:
    """This period's commitment, spend so far (plan and usage after discounts, as the true-up will
    count it) and usage charges, for the portal; None without a live subscription or any term."""
    from subscriptions.selectors import subscription_get_current

    terms = terms_get(tenant=tenant)
    if terms.minimum_commitment is None and terms.usage_threshold is None:
        return None
    account = subscription_get_current(tenant=tenant)
    if account is None or not account.stripe_customer_id:
        return None
    preview = upcoming_preview(
        customer_id=account.stripe_customer_id, subscription_id=account.subscription_id
    )
    start, end = int(preview["period_start"]), int(preview["period_end"])
    spent = period_spend(
        customer_id=account.stripe_customer_id,
        subscription_id=account.subscription_id,
        start=start,
        end=end,
        extra=(preview,),
    )
    return CommitmentProgress(
        committed=terms.minimum_commitment,
        spent=spent,
        usage=usage_charges(preview),
        threshold=terms.usage_threshold,
        currency=terms.currency,
        period_start=start,
        period_end=end,
    )
