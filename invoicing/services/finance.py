"""Finance actions on a tenant's invoices: refunds (maker-checker above the policy's threshold),
credit notes on open invoices, adjustments on the next invoice, void, mark uncollectible.
Each writes an audit row in the same transaction as its own rows."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from billing_project import money
from billing_project.errors import Conflict, InvalidRequest, NotFound, PermissionDeniedError
from billing_project.stripe_gateway import invoices as stripe_invoices
from billing_project.stripe_gateway import refunds as stripe_refunds
from invoicing import selectors
from invoicing.models import Adjustment, CreditNote, Refund
from invoicing.services.common import emit, fresh_invoice, mirror_invoice
from invoicing.services.documents import document_request
from invoicing.services.payments import invoice_state_sync
from policies.selectors import policy_get
from subscriptions.services.common import op_key
from tenants.services import audit_record

if TYPE_CHECKING:
    from tenants.models import Tenant


def refund_create(
    *,
    tenant: Tenant,
    invoice_id: str,
    amount: int | None,
    reason: str,
    actor: str,
    request_key: str | None = None,
) -> Refund:
    """Refund (part of) a paid invoice. `amount` None means everything not yet refunded. More than
    is left to refund is a 400. Above the policy's threshold the refund waits for a second finance
    user (`refund_approve`); otherwise it goes to Stripe at once as a credit note with refund_amount."""
    data = fresh_invoice(tenant=tenant, invoice_id=invoice_id)
    if data["status"] != "paid" or int(data.get("amount_paid") or 0) <= 0:
        raise Conflict("Only a paid invoice can be refunded.", code="invoice_not_refundable")
    with transaction.atomic():
        # Serialises refunds of one invoice: two concurrent requests cannot both take the last money.
        state = invoice_state_sync(tenant=tenant, data=data)
        type(state).objects.select_for_update().get(pk=state.pk)
        available = selectors.refundable_amount(data=data)
        amount = available if amount is None else amount
        if amount <= 0 or amount > available:
            # In the API's own unit (a decimal string in major units), the one the caller gave the amount in.
            raise InvalidRequest(
                f"The refund must be more than 0 and at most "
                f"{money.to_major(available, data['currency'])} {data['currency'].upper()}: "
                f"what was paid and not yet refunded.",
                detail={
                    "amount": ["More than was paid." if amount > available else "Must be positive."]
                },
            )
        pending = amount > policy_get().refund_approval_threshold_of(data["currency"])
        refund = Refund.objects.create(
            invoice_id=invoice_id,
            amount=amount,
            currency=data["currency"],
            reason=reason,
            requested_by=actor,
            status=Refund.Status.PENDING_APPROVAL if pending else Refund.Status.SUCCEEDED,
        )
        audit_record(
            actor=actor,
            action="refund.request" if pending else "refund.create",
            tenant=tenant,
            target=invoice_id,
            after={
                "refund": refund.refund_id,
                "amount": amount,
                "currency": refund.currency,
                "reason": reason,
                "status": refund.status,
            },
        )
        if not pending:
            # The refund row rolls back with a lost answer, so a retry gets a new row: the key comes
            # from the client's Idempotency-Key when it sent one, so that its retry refunds once.
            _refund_execute(
                tenant=tenant,
                refund=refund,
                actor=actor,
                key=f"refund:{invoice_id}:{request_key}" if request_key else None,
            )
        _announce(tenant, "refund.created", refund)
    return refund


def _announce(tenant: Tenant, event_type: str, refund: Refund) -> None:
    """The outbound webhook event of a refund, in the caller's transaction, once per refund."""
    from webhooks.catalogue import refund_object
    from webhooks.services import emit_event

    emit_event(
        tenant=tenant,
        type=event_type,
        obj=refund_object(refund),
        dedup_key=f"{event_type}:{refund.id}",
    )


def _refund_execute(*, tenant: Tenant, refund: Refund, actor: str, key: str | None = None) -> None:
    # By default the key is the refund's id: an approval retried after a lost answer (the pending
    # row stays) cannot refund twice.
    note = stripe_refunds.credit_note_create(
        invoice_id=refund.invoice_id,
        amount=refund.amount,
        refund_amount=refund.amount,
        memo=refund.reason,
        key=key or f"refund:{refund.id}",
    )
    refunds = note.get("refunds") or []  # type: ignore[attr-defined]  # dj-stripe's compat gives StripeObject dict's methods (stripe 15); stripe's types do not
    first = refunds[0] if refunds else {}
    stripe_refund = first.get("refund") if isinstance(first, dict) else None
    refund.stripe_refund_id = (
        stripe_refund if isinstance(stripe_refund, str) else (stripe_refund or {}).get("id")
    ) or ""
    refund.credit_note_id = note["id"]
    refund.status = Refund.Status.SUCCEEDED
    refund.save()
    CreditNote.objects.create(
        credit_note_id=note["id"],
        invoice_id=refund.invoice_id,
        number=note.get("number") or "",  # type: ignore[attr-defined]  # dj-stripe's compat gives StripeObject dict's methods (stripe 15); stripe's types do not
        kind=CreditNote.Kind.REFUND,
        amount=refund.amount,
        currency=refund.currency,
        reason=refund.reason,
        created_by=actor,
    )
    emit(
        tenant=tenant,
        kind="refund_issued",
        object_id=refund.invoice_id,
        dedup_key=f"refund_issued:{refund.id}",
        data={
            "amount": refund.amount,
            "currency": refund.currency,
            "invoice_id": refund.invoice_id,
            "credit_note": note["id"],
        },
    )


def _pending_refund(refund_id: object) -> Refund:
    try:
        refund = Refund.objects.select_for_update().filter(id=uuid.UUID(str(refund_id))).first()
    except ValueError:
        refund = None
    if refund is None:
        raise NotFound("No such refund.")
    if refund.status != Refund.Status.PENDING_APPROVAL:
        raise Conflict(
            f"This refund is {refund.status}, not pending approval.", code="refund_not_pending"
        )
    return refund


def refund_approve(*, tenant: Tenant, refund_id: object, actor: str) -> Refund:
    """The checker's approval: a finance user other than the requester sends the refund to Stripe."""
    with transaction.atomic():
        refund = _pending_refund(refund_id)
        if refund.requested_by == actor:
            raise PermissionDeniedError(
                "A refund needs another finance user's approval than its requester's.",
                code="approval_requires_second_user",
            )
        refund.decided_by, refund.decided_at = actor, timezone.now()
        _refund_execute(tenant=tenant, refund=refund, actor=refund.requested_by)
        _announce(tenant, "refund.approved", refund)
        audit_record(
            actor=actor,
            action="refund.approve",
            tenant=tenant,
            target=refund.invoice_id,
            before={"status": Refund.Status.PENDING_APPROVAL},
            after={
                "refund": refund.refund_id,
                "status": refund.status,
                "amount": refund.amount,
                "credit_note": refund.credit_note_id,
                "requested_by": refund.requested_by,
            },
        )
    return refund


def refund_reject(*, tenant: Tenant, refund_id: object, actor: str) -> Refund:
    with transaction.atomic():
        refund = _pending_refund(refund_id)
        if refund.requested_by == actor:
            raise PermissionDeniedError(
                "The requester cannot decide on their own refund.",
                code="approval_requires_second_user",
            )
        refund.status, refund.decided_by, refund.decided_at = (
            Refund.Status.REJECTED,
            actor,
            timezone.now(),
        )
        refund.save()
        audit_record(
            actor=actor,
            action="refund.reject",
            tenant=tenant,
            target=refund.invoice_id,
            before={"status": Refund.Status.PENDING_APPROVAL},
            after={"refund": refund.refund_id, "status": refund.status},
        )
    return refund


def credit_note_create(
    *,
    tenant: Tenant,
    invoice_id: str,
    amount: int,
    reason: str,
    actor: str,
    request_key: str | None = None,
) -> CreditNote:
    """Lower what an open invoice asks for (a pre-payment credit note); at most what remains due."""
    data = fresh_invoice(tenant=tenant, invoice_id=invoice_id)
    if data["status"] != "open":
        raise Conflict(
            "Credit notes here are for open invoices; refund a paid one.", code="invoice_not_open"
        )
    remaining = int(data.get("amount_remaining") or 0)
    if amount <= 0 or amount > remaining:
        raise InvalidRequest(
            f"The credit must be more than 0 and at most the {remaining} (minor units) still due.",
            detail={"amount": ["More than is due." if amount > 0 else "Must be positive."]},
        )
    note = stripe_refunds.credit_note_create(
        invoice_id=invoice_id,
        amount=amount,
        memo=reason,
        key=op_key("credit-note", invoice_id, request_key),
    )
    fresh = stripe_invoices.invoice_retrieve(invoice_id)
    mirror_invoice(fresh, fresh=True)
    with transaction.atomic():
        credit = CreditNote.objects.create(
            credit_note_id=note["id"],
            invoice_id=invoice_id,
            number=note.get("number") or "",  # type: ignore[attr-defined]  # dj-stripe's compat gives StripeObject dict's methods (stripe 15); stripe's types do not
            kind=CreditNote.Kind.CREDIT,
            amount=amount,
            currency=data["currency"],
            reason=reason,
            created_by=actor,
        )
        before = {"amount_remaining": remaining}
        invoice_state_sync(tenant=tenant, data=fresh)
        audit_record(
            actor=actor,
            action="credit_note.create",
            tenant=tenant,
            target=invoice_id,
            before=before,
            after={
                "credit_note": note["id"],
                "amount": amount,
                "currency": data["currency"],
                "amount_remaining": fresh.get("amount_remaining"),  # type: ignore[attr-defined]  # dj-stripe's compat gives StripeObject dict's methods (stripe 15); stripe's types do not
                "reason": reason,
            },
        )
        document_request(tenant=tenant, invoice_id=invoice_id)
        from webhooks.catalogue import credit_note_object
        from webhooks.services import emit_event

        emit_event(
            tenant=tenant,
            type="credit_note.created",
            obj=credit_note_object(credit_note_id=credit.credit_note_id),
            dedup_key=f"credit_note.created:{credit.credit_note_id}",
        )
    return credit


def adjustment_create(
    *,
    tenant: Tenant,
    amount: int,
    currency: str,
    description: str,
    actor: str,
    request_key: str | None = None,
) -> Adjustment:
    """A one-off line on the tenant's next invoice (a pending Stripe invoice item); negative credits."""
    from subscriptions.services.customers import customer_ensure

    if amount == 0:
        raise InvalidRequest(
            "An adjustment needs a non-zero amount.", detail={"amount": ["Must not be zero."]}
        )
    account = customer_ensure(tenant=tenant)
    item = stripe_invoices.invoice_item_create(
        customer_id=account.stripe_customer_id,
        amount=amount,
        currency=currency,
        description=description,
        key=op_key("adjustment", tenant, request_key),
    )
    with transaction.atomic():
        adjustment = Adjustment.objects.create(
            stripe_invoice_item_id=item["id"],
            amount=amount,
            currency=currency,
            description=description,
            created_by=actor,
        )
        audit_record(
            actor=actor,
            action="adjustment.create",
            tenant=tenant,
            target=item["id"],
            after={"amount": amount, "currency": currency, "description": description},
        )
    return adjustment


def _close(*, tenant: Tenant, invoice_id: str, actor: str, action: str) -> dict[str, Any]:
    data = fresh_invoice(tenant=tenant, invoice_id=invoice_id)
    if data["status"] != "open" and not (action == "void" and data["status"] == "uncollectible"):
        raise Conflict(
            f"This invoice is {data['status']}; only open invoices can be "
            f"{'voided' if action == 'void' else 'marked uncollectible'}.",
            code="invoice_not_open",
        )
    call = (
        stripe_invoices.invoice_void
        if action == "void"
        else stripe_invoices.invoice_mark_uncollectible
    )
    closed = call(invoice_id=invoice_id, key=f"invoice-{action}:{invoice_id}")
    mirror_invoice(closed)
    with transaction.atomic():
        invoice_state_sync(tenant=tenant, data=closed)
        audit_record(
            actor=actor,
            action=f"invoice.{action}",
            tenant=tenant,
            target=invoice_id,
            before={"status": data["status"], "amount_remaining": data.get("amount_remaining")},
            after={"status": closed["status"], "amount_remaining": closed.get("amount_remaining")},  # type: ignore[attr-defined]  # dj-stripe's compat gives StripeObject dict's methods (stripe 15); stripe's types do not
        )
        document_request(tenant=tenant, invoice_id=invoice_id)
    return dict(closed)  # type: ignore[call-overload, no-any-return]  # dj-stripe's compat gives StripeObject dict's methods (stripe 15); stripe's types do not


def invoice_void(*, tenant: Tenant, invoice_id: str, actor: str) -> dict[str, Any]:
    """Void an open (or uncollectible) invoice: nothing is owed any more; dunning stops."""
    return _close(tenant=tenant, invoice_id=invoice_id, actor=actor, action="void")


def invoice_mark_uncollectible(*, tenant: Tenant, invoice_id: str, actor: str) -> dict[str, Any]:
    """Give up collecting an open invoice (bad debt); dunning stops."""
    return _close(tenant=tenant, invoice_id=invoice_id, actor=actor, action="uncollectible")
