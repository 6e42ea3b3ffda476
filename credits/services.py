"""Prepaid credits: writes. Every balance change takes the wallet's row lock; Stripe is called only
after the change committed (never under the lock), with an Idempotency-Key derived from the grant
or the invoice, so a retry (task, webhook re-delivery, API retry) never moves money twice.

Where the money is: the tenant's Stripe customer credit balance. A grant adds to it (a negative
customer balance transaction), expiry or voiding takes its rest away (a positive one), and Stripe
applies it to each invoice at finalization before the card is charged. These services keep the
wallet's account of it: which grant each invoice consumed (promotional first, earlier expiry
first), the running balance, auto top-up and the low-balance notification.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import cast

from django.db import IntegrityError, transaction
from django.db.models import Case, F, IntegerField, Value, When

from billing_project.errors import InvalidRequest
from billing_project.stripe_gateway import balances as stripe_balances
from billing_project.stripe_gateway.customers import customer_retrieve
from billing_project.stripe_gateway.data import StripeData
from billing_project.stripe_gateway.errors import PaymentDeclined, StripeUnavailable
from billing_project.stripe_gateway.keys import op_key
from credits.models import CreditGrant, CreditLedgerEntry, CreditWallet, InvoiceCredit
from subscriptions.selectors import tenant_now
from subscriptions.services.customers import customer_ensure
from tenants.services import audit_record

logger = logging.getLogger(__name__)

# Stripe's largest amount for one charge (minor units, 8 digits), and so of one top-up or grant.
MAX_AMOUNT = 99_999_999
TOP_UP_PURPOSE = "credit_top_up"


def _check_currency(currency: str) -> None:
    if not re.fullmatch(r"[a-z]{3}", currency or ""):
        raise InvalidRequest(
            "currency must be a lower-case ISO 4217 code.",
            detail={"currency": ["Lower-case ISO 4217 code, e.g. usd."]},
        )


def _check_amount(amount: int, currency: str) -> None:
    _check_currency(currency)
    if not 0 < amount <= MAX_AMOUNT:
        raise InvalidRequest(
            "amount must be positive and at most 999,999.99 (99,999,999 minor units).",
            detail={"amount": ["Positive, at most 99,999,999 minor units."]},
        )


def wallet_ensure(*, tenant, currency: str) -> CreditWallet:
    """The tenant's wallet in `currency`, created empty on first use."""
    try:
        with transaction.atomic():
            wallet, _ = CreditWallet.objects.get_or_create(tenant=tenant, currency=currency)
    except IntegrityError:  # a concurrent first use created it
        wallet = CreditWallet.objects.get(tenant=tenant, currency=currency)
    return wallet


def _locked(wallet: CreditWallet) -> CreditWallet:
    return CreditWallet.objects.select_for_update().get(pk=wallet.pk)


def _entry(wallet, *, kind, grant, amount, now, invoice_id="") -> CreditLedgerEntry:
    return CreditLedgerEntry.objects.create(
        wallet=wallet,
        tenant_id=wallet.tenant_id,
        kind=kind,
        grant=grant,
        amount=amount,
        balance_after=wallet.balance,
        invoice_id=invoice_id,
        occurred_at=now,
    )


def _low_balance_check(wallet: CreditWallet) -> None:
    """Under the wallet lock, after the balance fell: one notification per crossing of the threshold
    (a grant that lifts the balance above it again re-arms it)."""
    from notifications.events import billing_event_emit

    if wallet.low_balance_below is None or wallet.balance >= wallet.low_balance_below:
        return
    if wallet.low_balance_notified:
        return
    wallet.low_balance_alerts += 1
    wallet.low_balance_notified = True
    wallet.save(update_fields=["low_balance_alerts", "low_balance_notified", "updated"])
    billing_event_emit(
        tenant=wallet.tenant,
        kind="credit_balance_low",
        object_id=f"wallet_{wallet.currency}",
        dedup_key=f"credit_balance_low:{wallet.currency}:{wallet.low_balance_alerts}",
        data={
            "amount": wallet.balance,
            "currency": wallet.currency,
            "threshold_amount": wallet.low_balance_below,
        },
    )


def _grant_record(
    *,
    tenant,
    currency: str,
    amount: int,
    category: str,
    source: str,
    actor: str,
    reason: str = "",
    expires_at: datetime | None = None,
    payment_intent_id: str | None = None,
) -> tuple[CreditGrant, bool]:
    """Write the grant and its ledger entry (the Stripe side follows after commit). A top-up's
    PaymentIntent is recorded once however often its success is reported: (grant, created)."""
    wallet = wallet_ensure(tenant=tenant, currency=currency)
    with transaction.atomic():
        wallet = _locked(wallet)
        if payment_intent_id:
            existing = CreditGrant.objects.filter(payment_intent_id=payment_intent_id).first()
            if existing is not None:
                return existing, False
        now = tenant_now(tenant)
        grant = CreditGrant.objects.create(
            wallet=wallet,
            tenant=tenant,
            category=category,
            source=source,
            amount=amount,
            remaining=amount,
            expires_at=expires_at,
            reason=reason,
            actor=actor,
            payment_intent_id=payment_intent_id,
            granted_at=now,
        )
        wallet.balance += amount
        if wallet.low_balance_below is not None and wallet.balance >= wallet.low_balance_below:
            wallet.low_balance_notified = False
        wallet.save(update_fields=["balance", "low_balance_notified", "updated"])
        _entry(wallet, kind=CreditLedgerEntry.Kind.GRANTED, grant=grant, amount=amount, now=now)
        audit_record(
            actor=actor,
            action=f"credits.{source}",
            tenant=tenant,
            target=f"credit_grant:{grant.pk}",
            after={
                "amount": amount,
                "currency": currency,
                "category": category,
                "expires_at": expires_at.isoformat() if expires_at else None,
                "reason": reason,
                "payment_intent": payment_intent_id,
                "balance": wallet.balance,
            },
        )
    return grant, True


def _stripe_credit_post(grant: CreditGrant) -> None:
    """Put the grant on the Stripe customer's credit balance (once: keyed by the grant)."""
    if grant.stripe_credit_txn_id:
        return
    account = customer_ensure(tenant=grant.tenant)
    txn = stripe_balances.balance_transaction_create(
        customer_id=account.stripe_customer_id,
        amount=-grant.amount,
        currency=grant.wallet.currency,
        description=f"Prepaid credit ({grant.get_category_display().lower()})",
        metadata={"credit_grant_id": str(grant.pk), "category": grant.category},
        key=f"credit-grant:{grant.tenant_id}:{grant.pk}",
    )
    CreditGrant.objects.filter(pk=grant.pk).update(stripe_credit_txn_id=txn.id)
    grant.stripe_credit_txn_id = txn.id


def _stripe_close_post(grant: CreditGrant) -> None:
    """Take an expired or voided grant's rest off the Stripe customer's credit balance (once)."""
    if grant.closed_amount <= 0 or grant.stripe_close_txn_id:
        return
    account = customer_ensure(tenant=grant.tenant)
    txn = stripe_balances.balance_transaction_create(
        customer_id=account.stripe_customer_id,
        amount=grant.closed_amount,
        currency=grant.wallet.currency,
        description=f"Prepaid credit {grant.state}",
        metadata={"credit_grant_id": str(grant.pk), "credit_event": grant.state},
        key=f"credit-close:{grant.tenant_id}:{grant.pk}",
    )
    CreditGrant.objects.filter(pk=grant.pk).update(stripe_close_txn_id=txn.id)
    grant.stripe_close_txn_id = txn.id


def credit_grant_create(
    *,
    tenant,
    amount: int,
    currency: str,
    category: str,
    reason: str,
    actor: str,
    expires_at: datetime | None = None,
) -> CreditGrant:
    """Finance staff give credit (paid or promotional) with a reason, audited, optionally expiring."""
    currency = (currency or "").lower()
    _check_amount(amount, currency)
    if category not in CreditGrant.Category.values:
        raise InvalidRequest("category must be paid or promotional.")
    if not (reason or "").strip():
        raise InvalidRequest("A grant needs a reason.", detail={"reason": ["Required."]})
    if expires_at is not None and expires_at <= tenant_now(tenant):
        raise InvalidRequest(
            "expires_at must be in the future.", detail={"expires_at": ["In the future."]}
        )
    grant, _ = _grant_record(
        tenant=tenant,
        currency=currency,
        amount=amount,
        category=category,
        source=CreditGrant.Source.STAFF,
        actor=actor,
        reason=reason.strip(),
        expires_at=expires_at,
    )
    transaction.on_commit(lambda: _post_quietly(_stripe_credit_post, grant))
    return grant


def _post_quietly(post, grant) -> None:
    """After-commit Stripe posting: an outage leaves the grant for `credits_stripe_sync`."""
    try:
        post(grant)
    except StripeUnavailable:
        logger.warning("credit grant %s: Stripe unavailable, left for the sync", grant.pk)


def credit_top_up(
    *,
    tenant,
    amount: int,
    currency: str,
    actor: str,
    request_key: str | None = None,
    source: str = CreditGrant.Source.TOP_UP,
    key: str | None = None,
) -> CreditGrant | None:
    """Buy paid credit now with the default payment method. 402 card_declined when the bank refuses,
    402 authentication_required when it asks for 3-D Secure (the credit is granted when the
    PaymentIntent succeeds: `payment_intent.succeeded`), 400 no_payment_method without a card."""
    currency = (currency or "").lower()
    _check_amount(amount, currency)
    account = customer_ensure(tenant=tenant)
    customer: StripeData = customer_retrieve(account.stripe_customer_id)
    if customer.get("currency") and customer["currency"] != currency:
        raise InvalidRequest(
            f"Credit must be bought in the currency you are billed in ({customer['currency']}).",
            code="currency_mismatch",
            detail={"currency": [f"Must be {customer['currency']}."]},
        )
    payment_method = (customer.get("invoice_settings") or {}).get("default_payment_method")
    if not payment_method:
        raise InvalidRequest(
            "Add a default payment method before buying credit.", code="no_payment_method"
        )
    intent = stripe_balances.payment_intent_pay_now(
        customer_id=account.stripe_customer_id,
        amount=amount,
        currency=currency,
        payment_method_id=payment_method,
        description="Prepaid credit top-up",
        metadata={"purpose": TOP_UP_PURPOSE, "tenant_id": str(tenant.id), "source": source},
        off_session=source == CreditGrant.Source.AUTO_TOP_UP,
        key=key or op_key("credit-top-up", tenant, request_key),
    )
    return credit_top_up_record(tenant=tenant, intent=intent, actor=actor)


def credit_top_up_record(*, tenant, intent, actor: str = "stripe") -> CreditGrant | None:
    """Grant the credit a succeeded top-up PaymentIntent bought (once per intent), then post it to
    Stripe. Called on the spot and by the `payment_intent.succeeded` webhook (3-D Secure done)."""
    metadata = intent.get("metadata") or {}
    if intent.get("status") != "succeeded" or metadata.get("purpose") != TOP_UP_PURPOSE:
        return None
    source = metadata.get("source")
    grant, _ = _grant_record(
        tenant=tenant,
        currency=intent["currency"],
        amount=int(intent["amount"]),
        category=CreditGrant.Category.PAID,
        source=source if source in CreditGrant.Source.values else CreditGrant.Source.TOP_UP,
        actor=actor,
        payment_intent_id=intent["id"],
    )
    _stripe_credit_post(grant)
    return grant


def _use_order():
    """Promotional before paid, earlier expiry first (no expiry last), then oldest."""
    return [
        Case(
            When(category=CreditGrant.Category.PROMOTIONAL, then=Value(0)),
            default=Value(1),
            output_field=IntegerField(),
        ),
        F("expires_at").asc(nulls_last=True),
        "granted_at",
        "pk",
    ]


def credits_apply_invoice(*, tenant, invoice: dict) -> InvoiceCredit | None:
    """Account for the credit Stripe applied to a finalized invoice (`starting_balance` minus
    `ending_balance`): taken from the grants in use order, once per invoice. None when the invoice
    used no wallet credit."""
    if invoice.get("status") in (None, "draft"):
        return None
    start, end = invoice.get("starting_balance"), invoice.get("ending_balance")
    if start is None or end is None or start >= 0 or end <= start:
        return None
    applied = end - start
    wallet = CreditWallet.objects.filter(tenant=tenant, currency=invoice["currency"]).first()
    if wallet is None:
        return None
    with transaction.atomic():
        wallet = _locked(wallet)
        if InvoiceCredit.objects.filter(tenant=tenant, invoice_id=invoice["id"]).exists():
            return None
        now = tenant_now(tenant)
        # Stripe's balance may also hold credit that is not the wallet's (a downgrade's proration).
        left = taken = min(applied, wallet.balance)
        grants = CreditGrant.objects.select_for_update().filter(
            wallet=wallet, state=CreditGrant.State.ACTIVE, remaining__gt=0
        )
        for grant in grants.order_by(*_use_order()):
            if left <= 0:
                break
            use = min(grant.remaining, left)
            grant.remaining -= use
            grant.save(update_fields=["remaining"])
            left -= use
            wallet.balance -= use
            _entry(
                wallet,
                kind=CreditLedgerEntry.Kind.APPLIED,
                grant=grant,
                amount=-use,
                now=now,
                invoice_id=invoice["id"],
            )
        wallet.save(update_fields=["balance", "updated"])
        record = InvoiceCredit.objects.create(
            tenant=tenant, wallet=wallet, invoice_id=invoice["id"], amount=taken - left
        )
        _low_balance_check(wallet)
    return record


def credits_auto_top_up(*, tenant, invoice_id: str, actor: str = "system") -> CreditGrant | None:
    """After an invoice used credit: when the balance is below the wallet's threshold, buy its
    amount, at most once per invoice. A refusal is logged and audited (the low-balance notification
    already told the tenant); an outage gives the claim back, so the webhook's retry tries again."""
    record = InvoiceCredit.objects.filter(tenant=tenant, invoice_id=invoice_id).first()
    if record is None or record.auto_top_up_done:
        return None
    wallet = CreditWallet.objects.get(pk=record.wallet_id)
    if wallet.auto_top_up_below is None or wallet.balance >= wallet.auto_top_up_below:
        return None
    if not InvoiceCredit.objects.filter(pk=record.pk, auto_top_up_done=False).update(
        auto_top_up_done=True
    ):
        return None  # another worker claimed it
    try:
        return credit_top_up(
            tenant=tenant,
            # Set with auto_top_up_below (wallet_settings_update: both or neither).
            amount=cast(int, wallet.auto_top_up_amount),
            currency=wallet.currency,
            actor=actor,
            source=CreditGrant.Source.AUTO_TOP_UP,
            key=f"credit-auto-top-up:{tenant.id}:{wallet.pk}:{invoice_id}",
        )
    except StripeUnavailable:
        InvoiceCredit.objects.filter(pk=record.pk).update(auto_top_up_done=False)
        raise
    except (PaymentDeclined, InvalidRequest) as exc:
        logger.warning("auto top-up of %s after %s refused: %s", tenant.slug, invoice_id, exc)
        audit_record(
            actor=actor,
            action="credits.auto_top_up_failed",
            tenant=tenant,
            target=invoice_id,
            after={"code": exc.code, "message": exc.message},
        )
        return None


def _grant_close(grant_id: int, *, kind: str, actor: str, now) -> CreditGrant | None:
    """Expire or void a grant's rest, exactly once (the grant's state under the wallet lock)."""
    grant = CreditGrant.objects.select_related("wallet").get(pk=grant_id)
    with transaction.atomic():
        wallet = _locked(grant.wallet)
        grant = CreditGrant.objects.select_for_update().get(pk=grant_id)
        if grant.state != CreditGrant.State.ACTIVE:
            return None
        rest = grant.remaining
        grant.state = kind
        grant.closed_amount, grant.remaining, grant.closed_at = rest, 0, now
        grant.save(update_fields=["state", "closed_amount", "remaining", "closed_at"])
        wallet.balance -= rest
        wallet.save(update_fields=["balance", "updated"])
        _entry(wallet, kind=kind, grant=grant, amount=-rest, now=now)
        audit_record(
            actor=actor,
            action=f"credits.{kind}",
            tenant=grant.tenant,
            target=f"credit_grant:{grant.pk}",
            before={"remaining": rest},
            after={"remaining": 0, "balance": wallet.balance},
        )
        _low_balance_check(wallet)
    grant.wallet = wallet
    return grant


def credits_expire_due(*, tenant, actor: str = "system") -> int:
    """Remove what is left of every grant whose expiry passed (the tenant's clock): once each, in
    the ledger and on Stripe's balance. Returns how many grants expired now."""
    now = tenant_now(tenant)
    due = CreditGrant.objects.filter(
        tenant=tenant, state=CreditGrant.State.ACTIVE, expires_at__lte=now
    ).values_list("pk", flat=True)
    expired = 0
    for grant_id in list(due):
        grant = _grant_close(grant_id, kind=CreditGrant.State.EXPIRED, actor=actor, now=now)
        if grant is not None:
            expired += 1
            _post_quietly(_stripe_close_post, grant)
    return expired


def credit_grant_void(*, grant: CreditGrant, actor: str) -> CreditGrant | None:
    """Finance staff take back what is left of a grant (audited)."""
    closed = _grant_close(
        grant.pk, kind=CreditGrant.State.VOIDED, actor=actor, now=tenant_now(grant.tenant)
    )
    if closed is not None:
        transaction.on_commit(lambda: _post_quietly(_stripe_close_post, closed))
    return closed


def credits_stripe_sync(*, tenant) -> int:
    """Post to Stripe what an outage or a crash left unposted (same keys: never twice)."""
    posted = 0
    pending = CreditGrant.objects.select_related("wallet", "tenant").filter(tenant=tenant)
    for grant in pending.filter(stripe_credit_txn_id=""):
        _stripe_credit_post(grant)
        posted += 1
    for grant in pending.filter(closed_amount__gt=0, stripe_close_txn_id=""):
        _stripe_close_post(grant)
        posted += 1
    return posted


def wallet_settings_update(
    *,
    tenant,
    currency: str,
    actor: str,
    auto_top_up_below: int | None,
    auto_top_up_amount: int | None,
    low_balance_below: int | None,
) -> CreditWallet:
    """Set (or clear, with None) the wallet's auto top-up and low-balance thresholds (audited)."""
    currency = (currency or "").lower()
    _check_currency(currency)
    if (auto_top_up_below is None) != (auto_top_up_amount is None):
        raise InvalidRequest(
            "Give both auto_top_up_below and auto_top_up_amount, or neither.",
            detail={"auto_top_up_amount": ["Set together with auto_top_up_below."]},
        )
    if auto_top_up_amount is not None:
        _check_amount(auto_top_up_amount, currency)
    for name, value in (
        ("auto_top_up_below", auto_top_up_below),
        ("low_balance_below", low_balance_below),
    ):
        if value is not None and not 0 <= value <= MAX_AMOUNT:
            raise InvalidRequest(f"{name} is out of range.", detail={name: ["Out of range."]})
    wallet = wallet_ensure(tenant=tenant, currency=currency)
    with transaction.atomic():
        wallet = _locked(wallet)
        before = {
            "auto_top_up_below": wallet.auto_top_up_below,
            "auto_top_up_amount": wallet.auto_top_up_amount,
            "low_balance_below": wallet.low_balance_below,
        }
        wallet.auto_top_up_below = auto_top_up_below
        wallet.auto_top_up_amount = auto_top_up_amount
        wallet.low_balance_below = low_balance_below
        wallet.low_balance_notified = False
        wallet.save()
        audit_record(
            actor=actor,
            action="credits.settings",
            tenant=tenant,
            target=f"credit_wallet:{currency}",
            before=before,
            after={
                "auto_top_up_below": auto_top_up_below,
                "auto_top_up_amount": auto_top_up_amount,
                "low_balance_below": low_balance_below,
            },
        )
        _low_balance_check(wallet)
    return wallet
