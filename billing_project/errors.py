"""The service's domain errors: what services raise when a business rule says no.

They live outside `billing_project.api` so that services, tasks and commands depend on the domain,
not on the HTTP layer; the API's exception handler (billing_project.api.exceptions) turns them into
the one JSON error shape with their status, code and headers.
"""

SERVICE_UNAVAILABLE_RETRY_AFTER = 5  # seconds: long enough for a restart or a failover to finish


class DomainError(Exception):
    """A business rule said no. Subclasses set status and code; detail is per-field or null."""

    status_code = 400
    code = "invalid_request"
    default_message = "The request is invalid."

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        detail=None,
        status_code=None,
        headers: dict | None = None,
    ):
        self.message = message or self.default_message
        if code:
            self.code = code
        if status_code:
            self.status_code = status_code
        self.detail = detail
        self.headers = headers or {}
        super().__init__(self.message)


class InvalidRequest(DomainError):
    status_code = 400
    code = "invalid_request"


class NotFound(DomainError):
    status_code = 404
    code = "not_found"
    default_message = "Not found."


class Conflict(DomainError):
    status_code = 409
    code = "conflict"
    default_message = "The request conflicts with the current state."


class PermissionDeniedError(DomainError):
    status_code = 403
    code = "permission_denied"
    default_message = "You do not have permission to perform this action."


class RateLimited(DomainError):
    status_code = 429
    code = "rate_limited"
    default_message = "Too many requests."

    def __init__(self, message: str | None = None, *, retry_after: int, **kwargs):
        super().__init__(message, headers={"Retry-After": str(max(1, int(retry_after)))}, **kwargs)
        self.retry_after = retry_after


class ServiceUnavailable(DomainError):
    """A dependency of ours (the database, Redis, the task broker) does not answer: retry later."""

    status_code = 503
    code = "service_unavailable"
    default_message = "The service is temporarily unavailable; retry after Retry-After seconds."

    def __init__(self, message: str | None = None, **kwargs):
        super().__init__(
            message, headers={"Retry-After": str(SERVICE_UNAVAILABLE_RETRY_AFTER)}, **kwargs
        )


class PayloadTooLarge(DomainError):
    status_code = 413
    code = "payload_too_large"
    default_message = "The request body is too large."


class LengthRequired(DomainError):
    status_code = 411
    code = "length_required"
    default_message = "Send the body with a Content-Length header; chunked bodies are not read."


class PaymentDeclined(DomainError):
    """The bank refused a payment: 402 `card_declined` with `detail.decline_code`."""

    status_code = 402
    code = "card_declined"
    default_message = "The card was declined."


class AuthenticationRequired(PaymentDeclined):
    """A payment waits for the customer to authenticate it (3-D Secure / SCA): 402
    `authentication_required` with `detail: {payment_intent_id, client_secret, invoice_id,
    hosted_invoice_url}`, what a client needs to let the customer confirm it (Stripe.js
    `confirmCardPayment(client_secret)`, or Stripe's hosted invoice page).

    A subclass of PaymentDeclined so that code catching declines sees it too; the one place that
    builds it from Stripe's objects is billing_project.stripe_gateway (errors.py for Stripe's error,
    invoices.action_required_of for an invoice whose payment went to `requires_action`)."""

    code = "authentication_required"
    default_message = "The customer must authenticate this payment."

    DETAIL_KEYS = ("payment_intent_id", "client_secret", "invoice_id", "hosted_invoice_url")

    @classmethod
    def for_payment(
        cls,
        *,
        payment_intent_id: str | None,
        client_secret: str | None,
        invoice_id: str | None,
        hosted_invoice_url: str | None,
        message: str | None = None,
    ) -> "AuthenticationRequired":
        return cls(
            message,
            detail={
                "payment_intent_id": payment_intent_id,
                "client_secret": client_secret,
                "invoice_id": invoice_id,
                "hosted_invoice_url": hosted_invoice_url,
            },
        )


class BudgetExceeded(DomainError):
    """The tenant's spend budget has a hard cap and this period's spend reached it: usage ingest and
    entitlement checks answer 402 `budget_exceeded` until the budget is raised, the cap removed or
    the next billing period starts (budgets.selectors.budget_capped)."""

    status_code = 402
    code = "budget_exceeded"
    default_message = (
        "The spend budget of this billing period is reached and its hard cap is on: raise the "
        "budget or remove the cap to record more usage."
    )
