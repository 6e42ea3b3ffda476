"""Refunds and credit notes. A refund is always a credit note with `refund_amount` (so the invoice,
its PDF and the customer's balance agree with the money sent back)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import stripe

from billing_project.stripe_gateway.client import get_client
from billing_project.stripe_gateway.errors import stripe_errors
from billing_project.stripe_gateway.keys import request_options

if TYPE_CHECKING:
    from stripe.params import CreditNoteCreateParams


def credit_note_create(
    *, invoice_id: str, amount: int, refund_amount: int = 0, memo: str = "", key: str
) -> stripe.CreditNote:
    """A credit note for `amount`; on a paid invoice `refund_amount` of it goes back to the card."""
    params: CreditNoteCreateParams = {"invoice": invoice_id, "amount": amount}
    if refund_amount:
        params["refund_amount"] = refund_amount
    if memo:
        params["memo"] = memo[:5000]
    with stripe_errors():
        return get_client().v1.credit_notes.create(params=params, options=request_options(key))
