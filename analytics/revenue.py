"""Revenue recognition: schedules kept from finalized invoices, reversals from credit notes, the
monthly report (billed, opening / recognised / reversed / closing deferred revenue per plan and
currency) and the journal export. The arithmetic is analytics.recognition's."""

from __future__ import annotations

import calendar
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import cast

from django.db import transaction
from django.db.models import Q

from analytics.models import (
    InvoiceFact,
    JournalAccount,
    RefundFact,
    RevenueReversal,
    RevenueSchedule,
)
from analytics.recognition import Schedule
from billing_project.timestamps import from_ts


def _price_id(line: dict) -> str:
    pricing = (line.get("pricing") or {}).get("price_details") or {}
    price = line.get("price") or pricing.get("price") or ""
    return price.get("id", "") if isinstance(price, dict) else price


def schedules_record(*, tenant, invoice: dict) -> list[RevenueSchedule]:
    """One schedule per line of a finalized invoice (net of its discounts); a voided invoice's are
    removed (it never was revenue). Idempotent by (invoice, line)."""
    from analytics.services import plans_by_price

    status = invoice.get("status")
    if status == "void":
        RevenueSchedule.objects.filter(invoice_id=invoice["id"]).delete()
        return []
    if status in (None, "draft"):
        return []
    finalized = from_ts((invoice.get("status_transitions") or {}).get("finalized_at")) or from_ts(
        invoice.get("created")
    )
    # A Stripe invoice has its `created`.
    issued = cast(datetime, finalized).date()
    plans = plans_by_price()
    written = []
    with transaction.atomic():
        for line in (invoice.get("lines") or {}).get("data") or []:
            discounts = sum(int(d.get("amount") or 0) for d in line.get("discount_amounts") or [])
            amount = int(line.get("amount") or 0) - discounts
            period = line.get("period") or {}
            start, end = from_ts(period.get("start")), from_ts(period.get("end"))
            if start is None or end is None or end.date() <= max(start.date(), issued):
                service_start, service_end = issued, issued + timedelta(days=1)
            else:
                service_start, service_end = max(start.date(), issued), end.date()
            plan = plans.get(_price_id(line), (None, ""))[0]
            schedule, _ = RevenueSchedule.objects.update_or_create(
                invoice_id=invoice["id"],
                line_id=line.get("id") or "",
                defaults={
                    "tenant": tenant,
                    "plan_code": plan.code if plan is not None else "",
                    "description": (line.get("description") or "")[:500],
                    "currency": invoice["currency"].lower(),
                    "amount": amount,
                    "issued_on": issued,
                    "service_start": service_start,
                    "service_end": service_end,
                },
            )
            written.append(schedule)
    return written


def _schedule(row: RevenueSchedule, reversals=None) -> Schedule:
    if reversals is None:
        reversals = [(r.day, r.amount) for r in row.reversals.all()]
    return Schedule(row.amount, row.service_start, row.service_end, reversals)


def reversal_record(*, credit_note: dict) -> list[RevenueReversal]:
    """A credit note (a refund's or a credit on an open invoice) takes back what it covers from its
    invoice's schedules, what is still deferred first, on its day. Idempotent by credit note."""
    invoice = credit_note.get("invoice")
    invoice_id = invoice.get("id") if isinstance(invoice, dict) else invoice
    if not invoice_id:
        return []
    day = cast(datetime, from_ts(credit_note.get("created"))).date()
    total = int(credit_note.get("total") or credit_note.get("amount") or 0)
    with transaction.atomic():
        RevenueReversal.objects.filter(source_id=credit_note["id"]).delete()
        if credit_note.get("status") == "void" or total <= 0:
            return []
        rows = list(
            RevenueSchedule.objects.select_for_update()
            .filter(invoice_id=invoice_id, amount__gt=0)
            .prefetch_related("reversals")
            .order_by("id")
        )
        made, left = [], total
        for index, row in enumerate(rows):
            deferred = max(_schedule(row).deferred_after(day - timedelta(days=1)), 0)
            share = left if index == len(rows) - 1 else min(left, deferred)
            if share <= 0:
                continue
            made.append(
                RevenueReversal.objects.create(
                    schedule=row, source_id=credit_note["id"], day=day, amount=share
                )
            )
            left -= share
    return made


# --- the monthly report and the journal ---------------------------------------------------------


def month_bounds(month: date) -> tuple[date, date]:
    first = month.replace(day=1)
    return first, first.replace(day=calendar.monthrange(first.year, first.month)[1])


@dataclass
class ReportRow:
    plan_code: str
    currency: str
    opening: int = 0
    billed: int = 0
    recognised: int = 0
    reversed: int = 0
    closing: int = 0


def _schedules_for(first: date, last: date, currency: str | None):
    rows = RevenueSchedule.objects.filter(issued_on__lte=last).filter(
        Q(service_end__gt=first) | Q(reversals__day__gte=first) | Q(issued_on__gte=first)
    )
    if currency:
        rows = rows.filter(currency=currency)
    return rows.distinct().prefetch_related("reversals").select_related("tenant")


def revenue_report(*, month: date, currency: str | None = None) -> list[ReportRow]:
    """Per plan and currency: deferred revenue at the start of the month, billed in it, recognised
    in it, reversed (credit notes, refunds) in it and deferred at its end. opening + billed -
    recognised - reversed = closing, exactly."""
    first, last = month_bounds(month)
    before = first - timedelta(days=1)
    rows: dict[tuple[str, str], ReportRow] = {}
    for row in _schedules_for(first, last, currency):
        s = _schedule(row)
        key = (row.plan_code, row.currency)
        out = rows.setdefault(key, ReportRow(plan_code=row.plan_code, currency=row.currency))
        issued_before = row.issued_on < first
        if issued_before:
            out.opening += s.deferred_after(before)
        else:
            out.billed += row.amount
        out.recognised += s.recognised_through(last) - (
            s.recognised_through(before) if issued_before else 0
        )
        out.reversed += s.reversed_through(last) - (
            s.reversed_through(before) if issued_before else 0
        )
        out.closing += s.deferred_after(last)
    return sorted(rows.values(), key=lambda r: (r.currency, r.plan_code))


def account_codes() -> dict[str, str]:
    codes = dict(JournalAccount.DEFAULT_CODES)
    codes.update(dict(JournalAccount.objects.values_list("role", "code")))
    return codes


JOURNAL_HEADER = ["date", "account", "debit", "credit", "currency", "memo", "invoice"]


def journal_lines(*, month: date, currency: str | None = None) -> list[list]:
    """The month's double entries (minor units): invoices issued (receivable / deferred revenue),
    revenue recognised (deferred / revenue, one pair per schedule at the month's end), credit notes
    (deferred and, beyond it, revenue / receivable), cash collected (cash / receivable) and refunds
    paid (receivable / cash)."""
    first, last = month_bounds(month)
    before = first - timedelta(days=1)
    codes = account_codes()
    lines: list[list] = []

    def entry(day, debit_role, credit_role, amount, cur, memo, invoice):
        if amount == 0:
            return
        if amount < 0:
            debit_role, credit_role, amount = credit_role, debit_role, -amount
        lines.append([day, codes[debit_role], amount, 0, cur, memo, invoice])
        lines.append([day, codes[credit_role], 0, amount, cur, memo, invoice])

    for row in _schedules_for(first, last, currency):
        s = _schedule(row)
        label = row.plan_code or row.description or "one-off"
        if first <= row.issued_on <= last:
            entry(
                row.issued_on,
                "receivable",
                "deferred_revenue",
                row.amount,
                row.currency,
                f"Invoiced: {label}",
                row.invoice_id,
            )
        issued_before = row.issued_on < first
        recognised = s.recognised_through(last) - (
            s.recognised_through(before) if issued_before else 0
        )
        entry(
            last,
            "deferred_revenue",
            "revenue",
            recognised,
            row.currency,
            f"Revenue recognised {first:%Y-%m}: {label}",
            row.invoice_id,
        )
        for reversal in row.reversals.all():
            if first <= reversal.day <= last:
                entry(
                    reversal.day,
                    "deferred_revenue",
                    "receivable",
                    reversal.amount,
                    row.currency,
                    f"Credit note {reversal.source_id}",
                    row.invoice_id,
                )
    invoices = InvoiceFact.objects.filter(paid_on__gte=first, paid_on__lte=last)
    refunds = RefundFact.objects.filter(day__gte=first, day__lte=last, amount__gt=0)
    if currency:
        invoices, refunds = invoices.filter(currency=currency), refunds.filter(currency=currency)
    for invoice in invoices:
        entry(
            invoice.paid_on,
            "cash",
            "receivable",
            invoice.amount_paid,
            invoice.currency,
            "Payment received",
            invoice.invoice_id,
        )
    for refund in refunds:
        entry(
            refund.day,
            "receivable",
            "cash",
            refund.amount,
            refund.currency,
            f"Refund {refund.credit_note_id}",
            refund.invoice_id,
        )
    lines.sort(key=lambda line: (line[0], line[6], line[5]))
    return lines


def totals_by_currency(rows: list[ReportRow]) -> dict[str, ReportRow]:
    totals: defaultdict[str, ReportRow] = defaultdict(lambda: ReportRow(plan_code="", currency=""))
    for row in rows:
        t = totals[row.currency]
        t.currency = row.currency
        for name in ("opening", "billed", "recognised", "reversed", "closing"):
            setattr(t, name, getattr(t, name) + getattr(row, name))
    return dict(totals)
