"""Stripe Invoices: read (with what dj-stripe's mirror needs expanded), pay, close, preview, lines."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

import stripe

from billing_project.errors import AuthenticationRequired
from billing_project.stripe_gateway.client import get_client
from billing_project.stripe_gateway.data import StripeData
from billing_project.stripe_gateway.errors import stripe_errors
from billing_project.stripe_gateway.keys import request_options

if TYPE_CHECKING:
    from stripe.params import (
        InvoiceCreatePreviewParams,
        InvoiceItemCreateParams,
        InvoicePayParams,
    )

# dj-stripe's Invoice sync reads discounts as objects; unexpanded they are ids and it fails.
MIRROR_EXPAND = ["discounts", "lines.data.discounts"]
# The payment attempts' intents carry the last decline (code and message): expanded when the
# caller needs it (a failed payment), so one call serves the mirror and the decline.
PAYMENTS_EXPAND = ["payments.data.payment.payment_intent"]


def invoice_retrieve(invoice_id: str, *, with_payments: bool = False) -> stripe.Invoice:
    """The invoice as Stripe has it now, expanded for the mirror (and its payments' intents)."""
    expand = MIRROR_EXPAND + (PAYMENTS_EXPAND if with_payments else [])
    with stripe_errors():
        return get_client().v1.invoices.retrieve(invoice_id, params={"expand": expand})


def invoice_lines(invoice_id: str) -> list[stripe.InvoiceLineItem]:
    """Every line (the invoice object carries only the first page of them)."""
    with stripe_errors():
        return list(
            get_client()
            .v1.invoices.line_items.list(invoice_id, params={"limit": 100})
            .auto_paging_iter()
        )


def invoice_list(*, customer_id: str, limit: int = 100) -> list[stripe.Invoice]:
    with stripe_errors():
        return list(
            get_client()
            .v1.invoices.list(params={"customer": customer_id, "limit": limit})
            .auto_paging_iter()
        )


def invoice_preview(*, params: dict[str, Any]) -> stripe.Invoice:
    with stripe_errors():
        # The callers build `params` by Stripe's InvoiceCreatePreviewParams.
        return get_client().v1.invoices.create_preview(
            params=cast("InvoiceCreatePreviewParams", params)
        )


def invoice_pay(*, invoice_id: str, payment_method_id: str | None, key: str) -> stripe.Invoice:
    params: InvoicePayParams = {"payment_method": payment_method_id} if payment_method_id else {}
    with stripe_errors():
        return get_client().v1.invoices.pay(invoice_id, params=params, options=request_options(key))


def invoice_void(*, invoice_id: str, key: str) -> stripe.Invoice:
    with stripe_errors():
        return get_client().v1.invoices.void_invoice(invoice_id, options=request_options(key))


def invoice_mark_uncollectible(*, invoice_id: str, key: str) -> stripe.Invoice:
    with stripe_errors():
        return get_client().v1.invoices.mark_uncollectible(invoice_id, options=request_options(key))


def invoice_item_create(
    *,
    customer_id: str,
    amount: int,
    currency: str,
    description: str,
    key: str,
    invoice_id: str | None = None,
    subscription_id: str | None = None,
    period: tuple[int, int] | None = None,
    discountable: bool | None = None,
    metadata: dict[str, str] | None = None,
) -> stripe.InvoiceItem:
    """An invoice item: on a draft invoice (`invoice_id`), pending for the subscription's next
    invoice (`subscription_id`), or pending for the customer's next one."""
    params: dict[str, Any] = {
        "customer": customer_id,
        "amount": amount,
        "currency": currency,
        "description": description,
    }
    if invoice_id:
        params["invoice"] = invoice_id
    if subscription_id:
        params["subscription"] = subscription_id
    if period:
        params["period"] = {"start": period[0], "end": period[1]}
    if discountable is not None:
        params["discountable"] = discountable
    if metadata:
        params["metadata"] = metadata
    with stripe_errors():
        return get_client().v1.invoice_items.create(
            params=cast("InvoiceItemCreateParams", params), options=request_options(key)
        )


def invoice_create(
    *, customer_id: str, currency: str, description: str, metadata: dict[str, str], key: str
) -> stripe.Invoice:
    """A draft one-off invoice charged automatically; pending items stay pending (Stripe's default
    since 2022-08-01): the caller adds its own with `invoice_item_create(invoice_id=...)`."""
    with stripe_errors():
        return get_client().v1.invoices.create(
            params={
                "customer": customer_id,
                "currency": currency,
                "collection_method": "charge_automatically",
                "auto_advance": False,
                "pending_invoice_items_behavior": "exclude",
                "description": description,
                "metadata": metadata,
            },
            options=request_options(key),
        )


def invoice_finalize(*, invoice_id: str, key: str) -> stripe.Invoice:
    with stripe_errors():
        return get_client().v1.invoices.finalize_invoice(
            invoice_id, params={"auto_advance": False}, options=request_options(key)
        )


def last_payment_error_of(invoice: Mapping[str, Any] | stripe.Invoice) -> dict[str, str] | None:
    """The last payment error (decline code and message) of an invoice read `with_payments`, or None."""
    for payment in (invoice.get("payments") or {}).get("data") or []:  # type: ignore[union-attr]  # dj-stripe's compat gives StripeObject dict's methods (stripe 15); stripe's types do not
        intent = (payment.get("payment") or {}).get("payment_intent")
        error = (
            intent.get("last_payment_error")
            if intent is not None and not isinstance(intent, str)
            else None
        )
        if error:
            return {
                "decline_code": error.get("decline_code") or error.get("code") or "card_declined",
                "message": error.get("message") or "",
            }
    return None


def invoice_last_payment_error(invoice_id: str) -> dict[str, str] | None:
    """The last payment error of the invoice's payment intents (decline code and message), or None."""
    return last_payment_error_of(invoice_retrieve(invoice_id, with_payments=True))


def action_required_of(invoice: StripeData) -> AuthenticationRequired | None:
    """The 402 `authentication_required` for an open invoice (read `with_payments`) whose payment
    waits for the customer (its PaymentIntent is `requires_action`: 3-D Secure), else None.

    The one translation of "this payment needs the customer" from Stripe's objects: the
    subscription, plan-change, pay-now and dunning paths (and any later caller) raise what this
    returns."""
    if invoice is None or invoice.get("status") != "open":
        return None
    for payment in (invoice.get("payments") or {}).get("data") or []:
        intent = (payment.get("payment") or {}).get("payment_intent")
        if intent is None or isinstance(intent, str):
            continue
        if intent.get("status") == "requires_action":
            return AuthenticationRequired.for_payment(
                payment_intent_id=intent.get("id"),
                client_secret=intent.get("client_secret"),
                invoice_id=invoice.get("id"),
                hosted_invoice_url=invoice.get("hosted_invoice_url"),
            )
    return None


def invoice_action_required(invoice_id: str | None) -> AuthenticationRequired | None:
    """`action_required_of` the invoice as Stripe has it now (None for no invoice)."""
    if not invoice_id:
        return None
    return action_required_of(invoice_retrieve(invoice_id, with_payments=True))


def payment_processing_of(invoice: StripeData) -> bool | None:
    """Whether an open invoice's payment is a bank debit still processing (SEPA Direct Debit: it
    settles days later, paid or failed). None when the invoice was not read `with_payments`."""
    if invoice is None:
        return None
    if invoice.get("status") != "open":
        return False
    payments = (invoice.get("payments") or {}).get("data")
    if payments is None:
        return None
    seen = False
    for payment in payments:
        intent = (payment.get("payment") or {}).get("payment_intent")
        if isinstance(intent, str):
            return None
        if intent is not None:
            seen = True
            if intent.get("status") == "processing":
                return True
    return False if seen or not payments else None
