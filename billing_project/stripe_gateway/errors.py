"""The one translation of Stripe's errors into the service's domain errors (API.md).

- card errors -> 402 `card_declined` with `detail.decline_code`; a payment that needs 3-D Secure
  -> 402 `authentication_required` (a kind of decline, so callers recording attempts see both);
- 404 -> `not_found`; paying a paid or void invoice -> 409 `invoice_not_payable`; other refusals
  -> 400 `invalid_request` with Stripe's code and parameter;
- the same Idempotency-Key with other parameters -> 409 `idempotency_conflict`;
- everything else (rate limits, outages, timeouts, a bad API key) -> 503
  `payment_provider_unavailable` with Retry-After: retryable, never a 500.
"""

from __future__ import annotations

import logging
from types import TracebackType
from typing import Any, Literal

import stripe

from billing_project.errors import (
    AuthenticationRequired,
    Conflict,
    DomainError,
    InvalidRequest,
    NotFound,
    PaymentDeclined,
)

logger = logging.getLogger(__name__)

__all__ = [
    "AUTHENTICATION_CODES",
    "AuthenticationRequired",
    "InvoiceNotPayable",
    "PaymentDeclined",
    "StripeUnavailable",
    "stripe_errors",
    "translate",
]


class StripeUnavailable(DomainError):
    """Stripe is down, rate-limiting or timing out (after the client's own network retries)."""

    status_code = 503
    code = "payment_provider_unavailable"
    default_message = "The payment provider could not be reached; retry later."
    # API.md promises Retry-After on this 503; a few seconds lets Stripe's rate window pass.
    retry_after_seconds = 5

    def __init__(self, message: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"Retry-After": str(self.retry_after_seconds)})
        super().__init__(message, **kwargs)


class InvoiceNotPayable(Conflict):
    code = "invoice_not_payable"
    default_message = "This invoice cannot be paid (it is paid, void or uncollectible)."


# Stripe's codes for "the payment needs the customer to authenticate" (the PaymentIntent went to
# requires_action): on invoice pay, on subscription create/update, and as a decline code.
AUTHENTICATION_CODES = {
    "authentication_required",
    "invoice_payment_intent_requires_action",
    "subscription_payment_intent_requires_action",
    "payment_intent_authentication_failure",
}


def _error_body(exc: stripe.StripeError) -> dict[str, Any]:
    body = exc.json_body if isinstance(exc.json_body, dict) else {}
    error = body.get("error")
    return error if isinstance(error, dict) else {}


def _declined(exc: stripe.CardError) -> PaymentDeclined:
    body = _error_body(exc)
    error = getattr(exc, "error", None)
    decline_code = (
        getattr(error, "decline_code", None)
        or body.get("decline_code")
        or exc.code
        or "card_declined"
    )
    if exc.code in AUTHENTICATION_CODES or decline_code in AUTHENTICATION_CODES:
        # Stripe's error carries the PaymentIntent only sometimes (a PaymentIntent confirm, not an
        # invoice pay): the services fill the rest from the invoice (invoices.action_required_of).
        intent = body.get("payment_intent") or {}
        intent = intent if isinstance(intent, dict) else {"id": intent}
        invoice = body.get("invoice")
        invoice = invoice if isinstance(invoice, dict) else {}
        return AuthenticationRequired.for_payment(
            payment_intent_id=intent.get("id"),
            client_secret=intent.get("client_secret"),
            invoice_id=invoice.get("id"),
            hosted_invoice_url=invoice.get("hosted_invoice_url"),
            message=exc.user_message or None,
        )
    return PaymentDeclined(
        exc.user_message or "The card was declined.", detail={"decline_code": decline_code}
    )


def translate(exc: stripe.StripeError) -> DomainError:
    """The domain error for one Stripe error."""
    if isinstance(exc, stripe.CardError):
        return _declined(exc)
    if isinstance(exc, stripe.InvalidRequestError):
        if exc.http_status == 404:
            return NotFound(exc.user_message or "No such object.")
        if exc.code == "invoice_not_open" or "already paid" in (exc.user_message or ""):
            return InvoiceNotPayable(exc.user_message)
        if exc.code == "payment_intent_invalid_parameter" and exc.param == "currency":
            # A method that cannot pay this currency (SEPA Direct Debit: EUR only); the services
            # check before asking, this is the answer should Stripe still refuse.
            return InvalidRequest(
                exc.user_message or "This payment method cannot pay in this currency.",
                code="payment_method_currency_unsupported",
                detail={"stripe_code": exc.code, "param": exc.param},
            )
        return InvalidRequest(
            exc.user_message or "The payment provider refused the request.",
            detail={"stripe_code": exc.code, "param": exc.param},
        )
    if isinstance(exc, stripe.IdempotencyError):
        return Conflict("A retried request had other parameters.", code="idempotency_conflict")
    logger.warning("stripe call failed: %r", exc)
    return StripeUnavailable()


class stripe_errors:  # noqa: N801 -- used as `with stripe_errors():`, like contextlib's helpers
    """Around every Stripe call of this package: Stripe exceptions leave as domain errors (the
    Stripe one chained as __cause__), so callers never see a `stripe` exception."""

    def __enter__(self) -> stripe_errors:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> Literal[False]:
        if exc is None or not isinstance(exc, stripe.StripeError):
            return False
        raise translate(exc) from exc
