"""The only module of the invoicing app that talks to Stripe (through the project's configured client).

Every mutating call carries an Idempotency-Key chosen by the caller from the operation (so a retried
job or request reaches Stripe with the same key and cannot pay, refund or credit twice). Stripe's
errors become domain errors here; callers never see a stripe exception.
"""

from __future__ import annotations

import logging

import stripe

from billing_project.api.exceptions import Conflict, InvalidRequest, NotFound
from billing_project.stripe_client import get_client
from subscriptions.gateway import PaymentDeclined, StripeUnavailable

logger = logging.getLogger(__name__)


class InvoiceNotPayable(Conflict):
    code = "invoice_not_payable"
    default_message = "This invoice cannot be paid (it is paid, void or uncollectible)."


class _StripeErrors:
    """Stripe errors -> domain errors (card declines keep Stripe's decline code in detail)."""

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc is None or not isinstance(exc, stripe.StripeError):
            return False
        body = (exc.json_body or {}).get("error") or {}
        if isinstance(exc, stripe.CardError):
            decline_code = body.get("decline_code") or exc.code or "card_declined"
            raise PaymentDeclined(exc.user_message or "The card was declined.",
                                  detail={"decline_code": decline_code, "code": exc.code}) from exc
        if isinstance(exc, stripe.InvalidRequestError):
            if exc.http_status == 404:
                raise NotFound(exc.user_message or "No such object.") from exc
            if exc.code == "invoice_not_open" or "already paid" in (exc.user_message or ""):
                raise InvoiceNotPayable(exc.user_message) from exc
            raise InvalidRequest(exc.user_message or "The payment provider refused the request.",
                                 detail={"stripe_code": exc.code, "param": exc.param}) from exc
        if isinstance(exc, stripe.IdempotencyError):
            raise Conflict("A retried request had other parameters.", code="idempotency_conflict") from exc
        logger.warning("stripe call failed: %r", exc)
        raise StripeUnavailable() from exc


def _opts(key: str) -> dict:
    return {"idempotency_key": key}


# dj-stripe's mirror needs the discounts expanded (it syncs them as objects, and fails on bare ids).
MIRROR_EXPAND = ["discounts", "lines.data.discounts"]


def invoice_retrieve(invoice_id: str):
    with _StripeErrors():
        return get_client().v1.invoices.retrieve(invoice_id, params={"expand": MIRROR_EXPAND})


def invoice_lines(invoice_id: str) -> list:
    """Every line (the invoice object carries only the first page of them)."""
    with _StripeErrors():
        return list(get_client().v1.invoices.line_items.list(invoice_id, params={"limit": 100}).auto_paging_iter())


def invoice_list(*, customer_id: str, limit: int = 100) -> list:
    with _StripeErrors():
        return list(get_client().v1.invoices.list(params={"customer": customer_id, "limit": limit}).auto_paging_iter())


def invoice_pay(*, invoice_id: str, payment_method_id: str | None, key: str):
    params = {"payment_method": payment_method_id} if payment_method_id else {}
    with _StripeErrors():
        return get_client().v1.invoices.pay(invoice_id, params=params, options=_opts(key))


def invoice_void(*, invoice_id: str, key: str):
    with _StripeErrors():
        return get_client().v1.invoices.void_invoice(invoice_id, options=_opts(key))


def invoice_mark_uncollectible(*, invoice_id: str, key: str):
    with _StripeErrors():
        return get_client().v1.invoices.mark_uncollectible(invoice_id, options=_opts(key))


def credit_note_create(*, invoice_id: str, amount: int, refund_amount: int = 0, memo: str = "", key: str):
    """A credit note for `amount`; on a paid invoice `refund_amount` of it goes back to the card."""
    params: dict = {"invoice": invoice_id, "amount": amount}
    if refund_amount:
        params["refund_amount"] = refund_amount
    if memo:
        params["memo"] = memo[:5000]
    with _StripeErrors():
        return get_client().v1.credit_notes.create(params=params, options=_opts(key))


def invoice_item_create(*, customer_id: str, amount: int, currency: str, description: str, key: str):
    with _StripeErrors():
        return get_client().v1.invoice_items.create(
            params={"customer": customer_id, "amount": amount, "currency": currency, "description": description},
            options=_opts(key))


def price_retrieve(price_id: str):
    with _StripeErrors():
        return get_client().v1.prices.retrieve(price_id)


def subscription_cancel(*, subscription_id: str, key: str):
    with _StripeErrors():
        return get_client().v1.subscriptions.cancel(subscription_id, options=_opts(key))


def invoice_last_payment_error(invoice_id: str) -> dict | None:
    """The last payment error of the invoice's payment intents (decline code and message), or None."""
    with _StripeErrors():
        invoice = get_client().v1.invoices.retrieve(
            invoice_id, params={"expand": ["payments.data.payment.payment_intent"]})
    for payment in (invoice.get("payments") or {}).get("data") or []:
        intent = (payment.get("payment") or {}).get("payment_intent")
        error = intent.get("last_payment_error") if intent is not None and not isinstance(intent, str) else None
        if error:
            return {"decline_code": error.get("decline_code") or error.get("code") or "card_declined",
                    "message": error.get("message") or ""}
    return None
