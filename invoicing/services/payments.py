"""Payments owned by this service: invoice state, the retry schedule (dunning), pay now, overdue.

Stripe's own automatic retries are off (README): after a failed charge, the retry schedule of the
billing policy decides when this service pays the invoice again through Stripe's API. Each attempt
is one PaymentAttempt keyed by Stripe's attempt_count, so the webhook about an attempt and the
service that made it record it once, whichever comes first.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from django.db import transaction
from django.db.models import F

from billing_project.errors import InvalidRequest, NotFound
from billing_project.stripe_gateway import invoices as stripe_invoices
from billing_project.stripe_gateway import payment_methods as stripe_payment_methods
from billing_project.stripe_gateway import subscriptions as stripe_subscriptions
from billing_project.stripe_gateway.data import StripeData
from billing_project.stripe_gateway.errors import (
    AuthenticationRequired,
    InvoiceNotPayable,
    PaymentDeclined,
    StripeUnavailable,
)
from billing_project.timestamps import from_ts
from invoicing.metrics import payment_attempt_count
from invoicing.models import InvoiceState, PaymentAttempt
from invoicing.services.common import customer_id_of, emit, fresh_invoice, mirror_invoice
from invoicing.services.documents import document_request
from policies.selectors import policy_get
from subscriptions.selectors import tenant_now
from tenants.services import audit_record

if TYPE_CHECKING:
    from policies.models import BillingPolicy
    from tenants.models import Tenant

logger = logging.getLogger(__name__)

ACTIVE_DUNNING = (
    InvoiceState.Dunning.SCHEDULED,
    InvoiceState.Dunning.WAITING_FOR_CARD,
    InvoiceState.Dunning.ACTION_REQUIRED,
)


def invoice_state_sync(*, tenant: Tenant, data: StripeData) -> InvoiceState:
    """Copy a fresh Stripe invoice onto our state row: status, amounts, due date; a closed invoice
    is no longer overdue and its dunning ends (recovered when paid, stopped when voided)."""
    policy = policy_get()
    parent = data.get("parent") or {}
    subscription = (parent.get("subscription_details") or {}).get("subscription") or ""
    transitions = data.get("status_transitions") or {}
    finalized_at = from_ts(transitions.get("finalized_at")) or from_ts(data.get("created"))
    due_at = from_ts(data.get("due_date")) or (
        finalized_at + timedelta(days=policy.auto_charge_due_days) if finalized_at else None
    )
    with transaction.atomic():
        state, _ = InvoiceState.objects.select_for_update().get_or_create(
            invoice_id=data["id"], defaults={"status": data["status"], "currency": data["currency"]}
        )
        state.number = data.get("number") or ""
        state.status = data["status"]
        state.currency = data["currency"]
        state.amount_due = int(data.get("amount_due") or 0)
        state.amount_remaining = int(data.get("amount_remaining") or 0)
        state.subscription_id = (
            subscription if isinstance(subscription, str) else subscription.get("id", "")
        )
        state.finalized_at, state.due_at = finalized_at, due_at
        processing = stripe_invoices.payment_processing_of(data)  # None: not read with_payments
        if processing is not None and processing != state.payment_processing:
            state.payment_processing = processing
            if state.status == "open":
                document_request(tenant=tenant, invoice_id=data["id"])  # the PDF says "processing"
        if state.status != "open":
            state.overdue_since = None
            if state.dunning in ACTIVE_DUNNING:
                state.dunning = (
                    InvoiceState.Dunning.RECOVERED
                    if state.status == "paid"
                    else InvoiceState.Dunning.STOPPED
                )
            state.next_retry_at = None
        state.save()
    return state


def _record_attempt(
    *,
    tenant: Tenant,
    data: StripeData,
    outcome: str,
    trigger: str,
    decline_code: str = "",
    message: str = "",
) -> tuple[PaymentAttempt, bool]:
    """(attempt, created). Stripe counts attempts on the invoice; attempt 0 means paid without a charge."""
    attempt, created = PaymentAttempt.objects.get_or_create(
        invoice_id=data["id"],
        attempt=int(data.get("attempt_count") or 0),
        defaults={
            "outcome": outcome,
            "trigger": trigger,
            "decline_code": decline_code,
            "message": message[:2000],
            "amount": int(data.get("amount_due") or 0),
            "currency": data["currency"],
            "attempted_at": tenant_now(tenant),
        },
    )
    return attempt, created


def payment_failure_record(
    *,
    tenant: Tenant,
    data: StripeData,
    trigger: str = PaymentAttempt.Trigger.STRIPE,
    decline_code: str = "",
    message: str = "",
) -> InvoiceState:
    """A failed attempt: record it, announce it, and schedule the next retry (or wait for a new card
    after a hard decline, or apply the end state after the last retry)."""
    policy = policy_get()
    if decline_code == "authentication_required":
        return payment_action_required_record(tenant=tenant, data=data, trigger=trigger)
    if not decline_code:
        error = stripe_invoices.invoice_last_payment_error(data["id"]) or {}
        decline_code, message = error.get("decline_code", "card_declined"), error.get("message", "")
    with transaction.atomic():
        attempt, created = _record_attempt(
            tenant=tenant,
            data=data,
            outcome=PaymentAttempt.Outcome.FAILED,
            trigger=trigger,
            decline_code=decline_code,
            message=message,
        )
        if created:  # a re-delivered webhook of the same attempt finds the row: counted once
            payment_attempt_count(status=attempt.outcome, currency=attempt.currency)
        state = invoice_state_sync(tenant=tenant, data=data)
        state = InvoiceState.objects.select_for_update().get(pk=state.pk)
        if not created or state.status != "open":
            return state
        emit(
            tenant=tenant,
            kind="payment_failed",
            object_id=data["id"],
            dedup_key=f"payment_failed:{data['id']}:{attempt.attempt}",
            data={
                "attempt": attempt.attempt,
                "decline_code": decline_code,
                "amount_due": attempt.amount,
                "currency": attempt.currency,
                "invoice_number": state.number,
            },
        )
        now = attempt.attempted_at
        state.first_failed_at = state.first_failed_at or now
        state.last_decline_code = decline_code
        if decline_code in policy.hard_decline_codes:
            # Retrying a stolen or closed card only adds declines; the next chance is a new card.
            state.dunning, state.next_retry_at = InvoiceState.Dunning.WAITING_FOR_CARD, None
        elif state.retries_done < len(policy.retry_days):
            state.dunning = InvoiceState.Dunning.SCHEDULED
            state.next_retry_at = max(
                now, state.first_failed_at + timedelta(days=policy.retry_days[state.retries_done])
            )
            emit(
                tenant=tenant,
                kind="payment_retry_scheduled",
                object_id=data["id"],
                dedup_key=f"payment_retry_scheduled:{data['id']}:{state.retries_done + 1}",
                data={
                    "retry": state.retries_done + 1,
                    "retry_at": state.next_retry_at.isoformat(),
                    "amount_due": state.amount_remaining,
                    "currency": state.currency,
                    "invoice_number": state.number,
                },
            )
        else:
            state.dunning, state.next_retry_at = InvoiceState.Dunning.EXHAUSTED, None
            _apply_end_state(tenant=tenant, state=state, end_state=policy.end_state)
        state.save()
    return state


def payment_action_required_record(
    *,
    tenant: Tenant,
    data: StripeData,
    trigger: str = PaymentAttempt.Trigger.STRIPE,
    action: dict[str, Any] | None = None,
) -> InvoiceState:
    """A payment that waits for the customer to authenticate it (3-D Secure): not a decline.

    Recorded once per attempt (outcome action_required), announced with the link to the portal's
    "Confirm your payment" page, and dunning waits for the customer: no retry can pass 3-D Secure,
    so the retry schedule's dates send reminders instead (dunning_run_due); after the last one the
    policy's end state applies, as after the last failed retry. `action` is the 402 detail when the
    caller has it (else read from the invoice)."""
    policy = policy_get()
    if action is None:
        found = stripe_invoices.action_required_of(
            data
            if data.get("payments")
            else stripe_invoices.invoice_retrieve(data["id"], with_payments=True)
        )
        action = found.detail if found is not None else {}
    with transaction.atomic():
        attempt, created = _record_attempt(
            tenant=tenant,
            data=data,
            outcome=PaymentAttempt.Outcome.ACTION_REQUIRED,
            trigger=trigger,
            decline_code="authentication_required",
        )
        state = invoice_state_sync(tenant=tenant, data=data)
        state = InvoiceState.objects.select_for_update().get(pk=state.pk)
        if not created or state.status != "open":
            return state
        _emit_action_required(tenant=tenant, state=state, data=data, attempt=attempt.attempt)
        state.first_failed_at = state.first_failed_at or attempt.attempted_at
        state.last_decline_code = "authentication_required"
        if state.dunning != InvoiceState.Dunning.ACTION_REQUIRED:
            state.dunning = InvoiceState.Dunning.ACTION_REQUIRED
            _schedule_reminder(tenant=tenant, state=state, policy=policy)
        state.save()
    return state


def _emit_action_required(
    *,
    tenant: Tenant,
    state: InvoiceState,
    data: StripeData = None,
    attempt: int = 0,
    reminder: int = 0,
) -> None:
    emit(
        tenant=tenant,
        kind="payment_action_required",
        object_id=state.invoice_id,
        dedup_key=f"payment_action_required:{state.invoice_id}:{attempt}:{reminder}",
        data={
            "amount_due": state.amount_remaining,
            "currency": state.currency,
            "invoice_number": state.number,
            "invoice_id": state.invoice_id,
            "hosted_invoice_url": (data or {}).get("hosted_invoice_url"),
            "reminder": reminder,
        },
    )


def _schedule_reminder(*, tenant: Tenant, state: InvoiceState, policy: BillingPolicy) -> None:
    """The next reminder on the retry schedule, or the end state once the schedule is over."""
    if state.retries_done < len(policy.retry_days):
        state.next_retry_at = max(
            tenant_now(tenant),
            # Set when the payment first waited for authentication (ACTION_REQUIRED's entry).
            cast(datetime, state.first_failed_at)
            + timedelta(days=policy.retry_days[state.retries_done]),
        )
    else:
        state.dunning, state.next_retry_at = InvoiceState.Dunning.EXHAUSTED, None
        _apply_end_state(tenant=tenant, state=state, end_state=policy.end_state)


def authentication_reminders_due(*, tenant: Tenant) -> int:
    """Remind the customer of every payment still waiting for their authentication whose reminder
    is due (in the tenant's time). Returns how many reminders were sent."""
    now = tenant_now(tenant)
    policy = policy_get()
    sent = 0
    due = InvoiceState.objects.filter(
        dunning=InvoiceState.Dunning.ACTION_REQUIRED, next_retry_at__lte=now, status="open"
    ).values_list("pk", flat=True)
    for pk in list(due):
        with transaction.atomic():
            state = (
                InvoiceState.objects.select_for_update(skip_locked=True)
                .filter(pk=pk, dunning=InvoiceState.Dunning.ACTION_REQUIRED, next_retry_at__lte=now)
                .first()
            )
            if state is None:
                continue
            state.retries_done += 1
            state.next_retry_at = None
            _emit_action_required(tenant=tenant, state=state, reminder=state.retries_done)
            _schedule_reminder(tenant=tenant, state=state, policy=policy)
            state.save()
        sent += 1
    return sent


def _apply_end_state(*, tenant: Tenant, state: InvoiceState, end_state: str) -> None:
    """After the last failed retry: cancel the subscription, or leave it unpaid (no more retries; the
    invoice stays open and the subscriptions app's grace period moves the tenant to the free plan)."""
    state.end_state = end_state
    if end_state == "canceled" and state.subscription_id:
        stripe_subscriptions.subscription_cancel(
            subscription_id=state.subscription_id, key=f"dunning-cancel:{state.invoice_id}"
        )
    audit_record(
        actor="system",
        action=f"dunning.{end_state}",
        tenant=tenant,
        target=state.invoice_id,
        after={
            "subscription": state.subscription_id,
            "retries": state.retries_done,
            "decline_code": state.last_decline_code,
        },
    )


def payment_success_record(
    *, tenant: Tenant, data: StripeData, trigger: str = PaymentAttempt.Trigger.STRIPE
) -> InvoiceState:
    """A paid invoice: record the attempt, end dunning (recovered), announce it once, re-render the PDF."""
    with transaction.atomic():
        attempt, created = _record_attempt(
            tenant=tenant, data=data, outcome=PaymentAttempt.Outcome.SUCCEEDED, trigger=trigger
        )
        # A $0 invoice (trial start, 100% coupon) is paid without a charge: not a payment to count or
        # a receipt to announce.
        amount_paid = int(data.get("amount_paid") or 0)
        if created and amount_paid > 0:
            payment_attempt_count(status=attempt.outcome, currency=attempt.currency)
        state = invoice_state_sync(tenant=tenant, data=data)
        if amount_paid > 0:
            emit(
                tenant=tenant,
                kind="payment_succeeded",
                object_id=data["id"],
                data={
                    "amount_paid": amount_paid,
                    "currency": data["currency"],
                    "invoice_number": state.number,
                    "hosted_invoice_url": data.get("hosted_invoice_url"),
                    "recovered": state.dunning == InvoiceState.Dunning.RECOVERED,
                },
            )
        document_request(tenant=tenant, invoice_id=data["id"])
    return state


def _check_payment_method(tenant: Tenant, payment_method_id: str) -> None:

    try:
        pm = stripe_payment_methods.payment_method_retrieve(payment_method_id)
    except NotFound:
        pm = None
    if pm is None or pm.get("customer") != customer_id_of(tenant):  # type: ignore[attr-defined]  # dj-stripe's compat gives StripeObject dict's methods (stripe 15); stripe's types do not
        raise NotFound("No such payment method.")


def _currency_refusal(
    tenant: Tenant, data: StripeData, payment_method_id: str | None
) -> InvalidRequest | None:
    """The 400 for paying the invoice with a method that cannot pay its currency (SEPA Direct
    Debit: EUR only), or None."""
    from subscriptions.services.payment_methods import method_currency_check, paying_method_type

    currency = str(data.get("currency") or "")
    try:
        method_currency_check(
            kind=paying_method_type(
                customer_id=customer_id_of(tenant), payment_method=payment_method_id
            ),
            currency=currency,
            subject="this invoice is",
        )
    except InvalidRequest as exc:
        return exc
    return None


def invoice_pay(
    *,
    tenant: Tenant,
    invoice_id: str,
    payment_method_id: str | None = None,
    actor: str = "system",
    trigger: str = PaymentAttempt.Trigger.MANUAL,
    raise_decline: bool = True,
    request_key: str | None = None,
) -> dict[str, Any]:
    """Pay an open invoice now with the default or the given card of the tenant.

    409 `invoice_not_payable` for a paid, void or uncollectible invoice; a decline is recorded as an
    attempt (and advances dunning) before the 402 `card_declined` is raised. The Idempotency-Key is
    the invoice's attempt number: two workers retrying the same attempt charge once. A client's
    retry (same `request_key`) of a payment whose answer was lost finds the invoice paid by that
    attempt: it asks Stripe again under that attempt's key, and Stripe replays the payment (or,
    when another request paid it, refuses: 409)."""
    data = fresh_invoice(tenant=tenant, invoice_id=invoice_id)
    attempts = int(data.get("attempt_count") or 0)
    replay = bool(request_key) and data["status"] == "paid" and attempts > 0
    if data["status"] != "open" and not replay:
        raise InvoiceNotPayable(f"This invoice is {data['status']} and cannot be paid.")
    if data["status"] == "open" and _payment_processing(invoice_id):
        # A bank debit is on its way: paying again would take the money twice.
        raise InvoiceNotPayable(
            "This invoice's payment (a bank debit) is processing; it settles in a few days.",
            code="payment_processing",
        )
    if payment_method_id:
        _check_payment_method(tenant, payment_method_id)
    if data["status"] == "open":
        unpayable = _currency_refusal(tenant, data, payment_method_id)
        if unpayable is not None:
            if raise_decline:
                raise unpayable
            # Dunning's retry: recorded as a failed attempt (the customer is told to change the
            # method), never sent to Stripe, which would refuse it.
            payment_failure_record(
                tenant=tenant,
                data=data,
                trigger=trigger,
                decline_code=unpayable.code,
                message=unpayable.message,
            )
            return dict(data)
    attempt = attempts if replay else attempts + 1
    key = f"invoice-pay:{invoice_id}:{attempt}:{payment_method_id or 'default'}"
    if request_key:
        key = f"{key}:{request_key}"
    try:
        paid = stripe_invoices.invoice_pay(
            invoice_id=invoice_id, payment_method_id=payment_method_id, key=key
        )
    except AuthenticationRequired as exc:
        waiting = stripe_invoices.invoice_retrieve(invoice_id, with_payments=True)
        mirror_invoice(waiting, fresh=True)
        # Stripe's error on an invoice pay names no PaymentIntent: the invoice's does.
        error = stripe_invoices.action_required_of(waiting) or exc
        payment_action_required_record(
            tenant=tenant, data=waiting, trigger=trigger, action=error.detail or {}
        )
        audit_record(
            actor=actor,
            action="invoice.pay",
            tenant=tenant,
            target=invoice_id,
            after={"outcome": "action_required", "trigger": trigger},
        )
        if raise_decline:
            raise error from exc
        return dict(waiting)  # type: ignore[call-overload, no-any-return]  # dj-stripe's compat gives StripeObject dict's methods (stripe 15); stripe's types do not
    except PaymentDeclined as exc:
        failed = stripe_invoices.invoice_retrieve(invoice_id)
        mirror_invoice(failed, fresh=True)
        detail = exc.detail or {}
        payment_failure_record(
            tenant=tenant,
            data=failed,
            trigger=trigger,
            decline_code=detail.get("decline_code") or "card_declined",
            message=exc.message,
        )
        audit_record(
            actor=actor,
            action="invoice.pay",
            tenant=tenant,
            target=invoice_id,
            after={
                "outcome": "failed",
                "decline_code": detail.get("decline_code"),
                "trigger": trigger,
            },
        )
        if raise_decline:
            raise
        return dict(failed)  # type: ignore[call-overload, no-any-return]  # dj-stripe's compat gives StripeObject dict's methods (stripe 15); stripe's types do not
    if paid.get("status") == "open":  # type: ignore[attr-defined]  # dj-stripe's compat gives StripeObject dict's methods (stripe 15); stripe's types do not
        return _processing_record(
            tenant=tenant, invoice_id=invoice_id, actor=actor, trigger=trigger
        )
    mirror_invoice(paid)
    with transaction.atomic():
        payment_success_record(tenant=tenant, data=paid, trigger=trigger)
        audit_record(
            actor=actor,
            action="invoice.pay",
            tenant=tenant,
            target=invoice_id,
            after={
                "outcome": "succeeded",
                "amount_paid": paid.get("amount_paid"),  # type: ignore[attr-defined]  # dj-stripe's compat gives StripeObject dict's methods (stripe 15); stripe's types do not
                "trigger": trigger,
            },
        )
    return dict(paid)  # type: ignore[call-overload, no-any-return]  # dj-stripe's compat gives StripeObject dict's methods (stripe 15); stripe's types do not


def _payment_processing(invoice_id: str) -> bool:
    """Whether a bank debit (SEPA) of the invoice is processing, by Stripe's word now."""
    state = InvoiceState.objects.filter(invoice_id=invoice_id, payment_processing=True).first()
    if state is None:
        return False
    data = stripe_invoices.invoice_retrieve(invoice_id, with_payments=True)
    return bool(stripe_invoices.payment_processing_of(data))


def _processing_record(
    *, tenant: Tenant, invoice_id: str, actor: str, trigger: str
) -> dict[str, Any]:
    """Stripe took the payment and it is processing (a SEPA debit): neither paid nor declined. The
    invoice stays open, flagged, until the debit settles (invoice.paid / invoice.payment_failed)."""
    data = stripe_invoices.invoice_retrieve(invoice_id, with_payments=True)
    mirror_invoice(data, fresh=True)
    with transaction.atomic():
        invoice_state_sync(tenant=tenant, data=data)
        audit_record(
            actor=actor,
            action="invoice.pay",
            tenant=tenant,
            target=invoice_id,
            after={"outcome": "processing", "trigger": trigger},
        )
    return dict(data)  # type: ignore[call-overload, no-any-return]  # dj-stripe's compat gives StripeObject dict's methods (stripe 15); stripe's types do not


def dunning_run_due(*, tenant: Tenant) -> int:
    """Retry every invoice of the tenant whose scheduled retry is due (in the tenant's time).
    Returns the number of retries made."""
    now = tenant_now(tenant)
    done = 0
    due = list(
        InvoiceState.objects.filter(
            dunning=InvoiceState.Dunning.SCHEDULED, next_retry_at__lte=now, status="open"
        ).values_list("pk", flat=True)
    )
    for pk in due:
        with transaction.atomic():
            # Claim the retry first: a second worker running the same job finds nothing due.
            state = (
                InvoiceState.objects.select_for_update(skip_locked=True)
                .filter(pk=pk, dunning=InvoiceState.Dunning.SCHEDULED, next_retry_at__lte=now)
                .first()
            )
            if state is None:
                continue
            claimed_at = state.next_retry_at
            state.retries_done += 1
            state.next_retry_at = None
            state.save(update_fields=["retries_done", "next_retry_at", "updated"])
        try:
            invoice_pay(
                tenant=tenant,
                invoice_id=state.invoice_id,
                trigger=PaymentAttempt.Trigger.SCHEDULE,
                raise_decline=False,
            )
        except InvoiceNotPayable:
            invoice_state_sync(
                tenant=tenant, data=stripe_invoices.invoice_retrieve(state.invoice_id)
            )
        except StripeUnavailable:
            # Stripe never answered: this was no attempt. Give the claim back so that the next run
            # retries (under the same attempt's key, so a payment Stripe did make is not made twice).
            InvoiceState.objects.filter(
                pk=state.pk, dunning=InvoiceState.Dunning.SCHEDULED, next_retry_at__isnull=True
            ).update(retries_done=F("retries_done") - 1, next_retry_at=claimed_at)
            logger.warning("dunning retry of %s postponed: Stripe unavailable", state.invoice_id)
            continue
        done += 1
    authentication_reminders_due(tenant=tenant)
    return done


def dunning_card_changed(*, tenant: Tenant) -> int:
    """A new default card: retry at once every open invoice in dunning (hard declines included)."""
    done = 0
    for state in InvoiceState.objects.filter(dunning__in=ACTIVE_DUNNING, status="open"):
        try:
            invoice_pay(
                tenant=tenant,
                invoice_id=state.invoice_id,
                trigger=PaymentAttempt.Trigger.NEW_CARD,
                raise_decline=False,
            )
        except InvoiceNotPayable:
            invoice_state_sync(
                tenant=tenant, data=stripe_invoices.invoice_retrieve(state.invoice_id)
            )
        done += 1
    return done


def invoices_mark_overdue(*, tenant: Tenant) -> int:
    """Mark the tenant's open invoices past due date + grace as overdue (once each), which makes the
    tenant's billing status `overdue`. Open invoices we have no state for yet (a missed webhook) are
    picked up from the mirror first. Returns how many became overdue."""
    from invoicing.selectors import invoice_queryset

    known = set(InvoiceState.objects.values_list("invoice_id", flat=True))
    for mirrored in invoice_queryset(tenant=tenant, status="open").exclude(id__in=known):
        invoice_state_sync(tenant=tenant, data=mirrored.stripe_data)
    grace = timedelta(days=policy_get().overdue_grace_days)
    now = tenant_now(tenant)
    marked = 0
    for state in InvoiceState.objects.filter(
        status="open", overdue_since__isnull=True, due_at__isnull=False
    ):
        if state.due_at is None or state.due_at + grace >= now:  # (the filter excludes None)
            continue
        with transaction.atomic():
            state.overdue_since = now
            state.save(update_fields=["overdue_since", "updated"])
            emit(
                tenant=tenant,
                kind="invoice_overdue",
                object_id=state.invoice_id,
                data={
                    "invoice_number": state.number,
                    "amount": state.amount_remaining,
                    "currency": state.currency,
                    "due_date": state.due_at.isoformat(),
                },
            )
            audit_record(
                actor="system",
                action="invoice.overdue",
                tenant=tenant,
                target=state.invoice_id,
                after={"due_at": state.due_at.isoformat()},
            )
            document_request(tenant=tenant, invoice_id=state.invoice_id)
        marked += 1
    return marked
