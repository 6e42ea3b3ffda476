"""Stripe-shaped API errors.

Stripe answers every failure with ``{"error": {...}}``; keys that do not apply are omitted
rather than sent as null, which stripe-python tolerates either way.
"""

from __future__ import annotations


class StripeError(Exception):
    """An error rendered as Stripe's error object with an HTTP status."""

    def __init__(
        self,
        status,
        message,
        *,
        type="invalid_request_error",
        code=None,
        param=None,
        decline_code=None,
        extra=None,
    ):
        super().__init__(message)
        self.status = status
        self.body = {"type": type, "message": message}
        for key, value in (("code", code), ("param", param), ("decline_code", decline_code)):
            if value is not None:
                self.body[key] = value
        if code:
            self.body["doc_url"] = f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}"
        self.body.update(extra or {})

    def to_dict(self):
        """The JSON body Stripe would send."""
        return {"error": dict(self.body)}


def invalid(message, param=None, code=None):
    """400 invalid_request_error."""
    return StripeError(400, message, param=param, code=code)


def missing_param(param):
    """400 for a required parameter that was not sent."""
    return StripeError(
        400, f"Missing required param: {param}.", param=param, code="parameter_missing"
    )


def not_found(kind, obj_id, param="id"):
    """404 resource_missing, worded like Stripe ("No such customer: 'cus_x'")."""
    return StripeError(404, f"No such {kind}: '{obj_id}'", param=param, code="resource_missing")


def card_declined(
    message="Your card was declined.",
    code="card_declined",
    decline_code="generic_decline",
    param=None,
    extra=None,
):
    """402 card_error as returned when a card is refused."""
    return StripeError(
        402,
        message,
        type="card_error",
        code=code,
        decline_code=decline_code,
        param=param,
        extra=extra,
    )


def auth_error(message):
    """401: Stripe sends neither code nor param for a bad key."""
    return StripeError(401, message)
