"""Prepaid credits: reads, always for one tenant."""

from __future__ import annotations

from django.db.models import QuerySet

from credits.models import CreditGrant, CreditLedgerEntry, CreditWallet, InvoiceCredit


def wallet_list(*, tenant) -> QuerySet[CreditWallet]:
    return CreditWallet.objects.filter(tenant=tenant).order_by("currency")


def grant_list(*, tenant, currency: str | None = None) -> QuerySet[CreditGrant]:
    grants = CreditGrant.objects.filter(tenant=tenant).select_related("wallet")
    return grants.filter(wallet__currency=currency) if currency else grants


def ledger_list(*, tenant, currency: str | None = None) -> QuerySet[CreditLedgerEntry]:
    entries = CreditLedgerEntry.objects.filter(tenant=tenant).select_related("wallet")
    return entries.filter(wallet__currency=currency) if currency else entries


def invoice_credit_amount(*, tenant, invoice_id: str) -> int:
    """Credit the wallet gave to one invoice (minor units of the invoice's currency; 0 if none)."""
    row = InvoiceCredit.objects.filter(tenant=tenant, invoice_id=invoice_id).first()
    return row.amount if row is not None else 0
