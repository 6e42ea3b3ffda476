"""Reads of the invoicing app. Invoices come from dj-stripe's mirror (public schema), always filtered
by the tenant's customer; lines the mirror lacks (a long invoice's later pages) come from Stripe
through billing_project.stripe_gateway. Our own rows (documents, dunning, refunds) live in the tenant's schema."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection
from django.db.models import QuerySet, Sum
from django_tenants.utils import schema_context

from billing_project.stripe_gateway import catalog as stripe_catalog
from billing_project.stripe_gateway import invoices as stripe_invoices
from billing_project.timestamps import from_ts
from invoicing.models import CreditNote, InvoiceDocument, InvoiceState, Refund


def invoice_queryset(
    *,
    tenant,
    status: str | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
) -> QuerySet:
    """The tenant's mirrored invoices (drafts are Stripe's work in progress and not shown)."""
    from djstripe.models import Invoice

    queryset = Invoice.objects.filter(customer__subscriber=tenant).exclude(
        stripe_data__status="draft"
    )
    if status:
        queryset = queryset.filter(stripe_data__status=status)
    if created_from:
        queryset = queryset.filter(created__gte=created_from)
    if created_to:
        queryset = queryset.filter(created__lt=created_to)
    return queryset


def invoice_get(*, tenant, invoice_id: str):
    """The tenant's invoice, or None (another tenant's id is the same None: the API says 404)."""
    return invoice_queryset(tenant=tenant).filter(id=invoice_id).first()


def tenant_for_customer(customer_id: str):
    """The tenant of a Stripe customer: dj-stripe's subscriber link, else the subscriptions app's account."""
    from djstripe.models import Customer

    from subscriptions.models import BillingAccount

    customer = Customer.objects.select_related("subscriber").filter(id=customer_id).first()
    if customer is not None and customer.subscriber is not None:
        return customer.subscriber
    account = (
        BillingAccount.objects.select_related("tenant")
        .filter(stripe_customer_id=customer_id)
        .first()
    )
    return account.tenant if account is not None else None


@dataclass
class InvoiceLine:
    description: str
    quantity: int
    unit_amount: int | None
    amount: int
    currency: str
    period_start: datetime | None
    period_end: datetime | None
    proration: bool
    kind: str
    # The `purpose` metadata of a line the service added (a commitment true-up, a threshold
    # invoice's usage or the renewal's deduction of it): the PDF labels it in the tenant's language.
    purpose: str = ""
    invoice_number: str = ""


@dataclass
class InvoiceView:
    """An invoice as the API and the PDF show it (amounts in minor units)."""

    invoice_id: str
    invoice_number: str
    status: str
    currency: str
    subtotal: int
    discount: int
    tax: int
    total: int
    amount_due: int
    amount_paid: int
    amount_remaining: int
    period_start: datetime | None
    period_end: datetime | None
    due_date: datetime | None
    created: datetime | None
    paid_at: datetime | None
    customer_id: str
    subscription_id: str
    hosted_invoice_url: str
    overdue: bool = False
    # An open invoice whose bank debit (SEPA) was submitted and has not settled yet.
    payment_processing: bool = False
    lines: list[InvoiceLine] = field(default_factory=list)
    # The customer credit balance (prepaid credits) Stripe applied at finalization.
    credit_applied: int = 0


def credit_applied_of(data: dict) -> int:
    """Credit taken from the customer's balance by an invoice: starting minus ending balance (both
    negative when credit; Stripe writes them at finalization)."""
    start, end = data.get("starting_balance"), data.get("ending_balance")
    if start is None or end is None or start >= 0 or end <= start:
        return 0
    return int(end) - int(start)


def _price_usage_type(price_id: str | None, cache: dict) -> str | None:
    if not price_id:
        return None
    if price_id not in cache:
        from djstripe.models import Price

        mirrored = Price.objects.filter(id=price_id).values_list("stripe_data", flat=True).first()
        data = mirrored if mirrored else stripe_catalog.price_retrieve(price_id)
        cache[price_id] = ((data.get("recurring") or {}).get("usage_type")) if data else None  # type: ignore[union-attr]  # dj-stripe's compat gives StripeObject dict's methods (stripe 15); stripe's types do not
    return cache[price_id]


def line_kind(line: dict, price_cache: dict) -> tuple[str, bool]:
    """(kind, proration) of a Stripe (dahlia) invoice line."""
    parent = line.get("parent") or {}
    details = parent.get("subscription_item_details") or parent.get("invoice_item_details") or {}
    proration = bool(details.get("proration") or line.get("proration"))
    if proration:
        return "proration", True
    if parent.get("type") == "invoice_item_details":
        return "adjustment", False
    price_id = ((line.get("pricing") or {}).get("price_details") or {}).get("price")
    if _price_usage_type(price_id, price_cache) == "metered":
        return "usage", False
    return "plan", False


def _lines_of(data: dict, with_discounts: bool) -> list[InvoiceLine]:
    block = data.get("lines") or {}
    raw = list(block.get("data") or [])
    if block.get("has_more"):
        raw = [dict(line) for line in stripe_invoices.invoice_lines(data["id"])]  # type: ignore[call-overload]  # dj-stripe's compat gives StripeObject dict's methods (stripe 15); stripe's types do not
    cache: dict = {}
    currency = data.get("currency") or "usd"
    out = []
    for line in raw:
        kind, proration = line_kind(line, cache)
        quantity = int(line.get("quantity") or 1)
        unit_decimal = (line.get("pricing") or {}).get("unit_amount_decimal")
        # A proration's amount is a share of the price: amount per unit is what the customer pays.
        # Stripe's decimal unit amount (fractions of a minor unit possible) only when that is not exact.
        if line["amount"] % quantity == 0 or unit_decimal is None:
            unit_amount = line["amount"] // quantity
        else:
            unit_amount = int(
                Decimal(str(unit_decimal)).quantize(Decimal(1), rounding=ROUND_HALF_UP)
            )
        period = line.get("period") or {}
        metadata = line.get("metadata") or {}
        out.append(
            InvoiceLine(
                description=line.get("description") or "",
                quantity=quantity,
                unit_amount=unit_amount,
                amount=int(line["amount"]),
                currency=currency,
                period_start=from_ts(period.get("start")),
                period_end=from_ts(period.get("end")),
                proration=proration,
                kind=kind,
                purpose=metadata.get("purpose") or "",
                invoice_number=metadata.get("invoice_number") or "",
            )
        )
    if with_discounts:
        for discount in data.get("total_discount_amounts") or []:
            if discount.get("amount"):
                out.append(
                    InvoiceLine(
                        description="Discount",
                        quantity=1,
                        unit_amount=-int(discount["amount"]),
                        amount=-int(discount["amount"]),
                        currency=currency,
                        period_start=None,
                        period_end=None,
                        proration=False,
                        kind="discount",
                    )
                )
    return out


def invoice_view(
    data: dict, *, with_lines: bool = False, state: InvoiceState | None = None
) -> InvoiceView:
    """Build the view of a Stripe invoice (a mirror row's stripe_data or a fresh Stripe object)."""
    discount = sum(int(d.get("amount") or 0) for d in data.get("total_discount_amounts") or [])
    tax = sum(int(t.get("amount") or 0) for t in data.get("total_taxes") or [])
    lines = _lines_of(data, with_discounts=True) if with_lines else []
    # The invoice's own period_start/end are Stripe's collection window (the previous period for an
    # invoice billed in advance); what the customer pays for is the span of its lines. A list reads
    # the lines it already has and never calls Stripe.
    periods = [(ln.period_start, ln.period_end) for ln in lines if ln.period_start] or [
        (from_ts(p.get("start")), from_ts(p.get("end")))  # type: ignore[misc]  # start is there: filtered below
        for p in ((ln.get("period") or {}) for ln in (data.get("lines") or {}).get("data") or [])
        if p.get("start")
    ]
    transitions = data.get("status_transitions") or {}
    parent = data.get("parent") or {}
    subscription = (
        ((parent.get("subscription_details") or {}).get("subscription"))
        or data.get("subscription")
        or ""
    )
    return InvoiceView(
        invoice_id=data["id"],
        invoice_number=data.get("number") or "",
        status=data.get("status") or "",
        currency=data.get("currency") or "usd",
        subtotal=int(data.get("subtotal") or 0),
        discount=discount,
        tax=tax,
        total=int(data.get("total") or 0),
        amount_due=int(data.get("amount_due") or 0),
        amount_paid=int(data.get("amount_paid") or 0),
        amount_remaining=int(data.get("amount_remaining") or 0),
        period_start=min(
            (start for start, _ in periods), default=from_ts(data.get("period_start"))
        ),
        period_end=max(
            (end for _, end in periods if end is not None), default=from_ts(data.get("period_end"))
        ),
        due_date=from_ts(data.get("due_date")) or (state.due_at if state else None),
        created=from_ts(data.get("created")),
        paid_at=from_ts(transitions.get("paid_at")),
        customer_id=data["customer"]
        if isinstance(data.get("customer"), str)
        else (data.get("customer") or {}).get("id", ""),
        subscription_id=subscription
        if isinstance(subscription, str)
        else subscription.get("id", ""),
        hosted_invoice_url=data.get("hosted_invoice_url") or "",
        payment_processing=bool(
            state and state.payment_processing and data.get("status") == "open"
        ),
        overdue=bool(state and state.overdue_since and data.get("status") == "open"),
        credit_applied=credit_applied_of(data),
        lines=lines,
    )


def invoice_processing_get(*, tenant) -> InvoiceView | None:
    """The tenant's oldest open invoice whose bank debit (SEPA) is processing, or None."""
    with schema_context(tenant.schema_name):
        state = (
            InvoiceState.objects.filter(status="open", payment_processing=True)
            .order_by("finalized_at", "id")
            .first()
        )
    row = invoice_get(tenant=tenant, invoice_id=state.invoice_id) if state is not None else None
    return invoice_view(row.stripe_data, state=state) if row is not None else None


def invoice_states(*, invoice_ids) -> dict[str, InvoiceState]:
    return {s.invoice_id: s for s in InvoiceState.objects.filter(invoice_id__in=list(invoice_ids))}


def document_get(*, invoice_id: str) -> InvoiceDocument | None:
    return InvoiceDocument.objects.filter(invoice_id=invoice_id).first()


def refunded_or_pending(*, invoice_id: str) -> int:
    """Minor units already refunded or waiting for approval on this invoice."""
    return (
        Refund.objects.filter(invoice_id=invoice_id)
        .exclude(status=Refund.Status.REJECTED)
        .aggregate(total=Sum("amount"))["total"]
        or 0
    )


def refundable_amount(*, data: dict) -> int:
    """Minor units of an invoice (Stripe's data) that can still be refunded: what a paid invoice took,
    less what was refunded or waits for approval; 0 for an invoice that is not paid. Run in the tenant's schema."""
    if data.get("status") != "paid":
        return 0
    return max(int(data.get("amount_paid") or 0) - refunded_or_pending(invoice_id=data["id"]), 0)


def refund_list_pending() -> QuerySet[Refund]:
    return Refund.objects.filter(status=Refund.Status.PENDING_APPROVAL)


def credit_note_list(*, invoice_id: str) -> QuerySet[CreditNote]:
    return CreditNote.objects.filter(invoice_id=invoice_id)


def tenant_has_overdue_invoice(*, tenant) -> bool:
    """True when an open invoice of the tenant was marked overdue by the daily job."""
    with schema_context(tenant.schema_name), connection.cursor() as cursor:
        cursor.execute(OVERDUE_INVOICE_SQL)
        return cursor.fetchone() is not None


# Plain SQL, run in the tenant's schema: tenants.selectors.tenant_billing_status asks it together with
# subscriptions' PAST_DUE_SQL in one statement (GET /api/v1/tenants/current, issue 21).
OVERDUE_INVOICE_SQL = (
    f"SELECT 1 FROM {InvoiceState._meta.db_table} "
    "WHERE status = 'open' AND overdue_since IS NOT NULL LIMIT 1"
)


def invoice_awaiting_authentication(*, tenant, latest_invoice_id: str = "") -> str | None:
    """The id of the tenant's oldest open invoice whose payment waits for the customer's 3-D Secure
    (dunning action_required), else `latest_invoice_id` (the caller's `incomplete` subscription's
    first invoice: unpaid by definition, known before any webhook), else None."""
    with schema_context(tenant.schema_name):
        waiting = (
            InvoiceState.objects.filter(status="open", dunning=InvoiceState.Dunning.ACTION_REQUIRED)
            .order_by("finalized_at", "id")
            .values_list("invoice_id", flat=True)
            .first()
        )
    return waiting or latest_invoice_id or None
