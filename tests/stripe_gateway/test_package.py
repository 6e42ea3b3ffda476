"""The Stripe package's one error translator (API.md's codes) and its one Idempotency-Key helper."""

import pytest
import stripe

from billing_project.errors import Conflict, InvalidRequest, NotFound
from billing_project.stripe_gateway import errors
from billing_project.stripe_gateway.errors import (
    AuthenticationRequired,
    InvoiceNotPayable,
    PaymentDeclined,
    StripeUnavailable,
    stripe_errors,
)


def _card_error(code, decline_code=None, **extra):
    body = {
        "error": {
            "type": "card_error",
            "code": code,
            "decline_code": decline_code,
            "message": "Your card was declined.",
            **extra,
        }
    }
    return stripe.CardError("Your card was declined.", None, code, http_status=402, json_body=body)


def _raised(exc):
    with pytest.raises(Exception) as caught, stripe_errors():
        raise exc
    return caught.value


def test_card_errors_are_402_with_the_decline_code():
    declined = _raised(_card_error("card_declined", "insufficient_funds"))
    assert type(declined) is PaymentDeclined and declined.status_code == 402
    assert declined.code == "card_declined" and declined.detail == {
        "decline_code": "insufficient_funds"
    }
    assert _raised(_card_error("expired_card")).detail == {"decline_code": "expired_card"}


def test_a_payment_that_needs_3d_secure_is_402_authentication_required():
    for code, decline in (
        ("invoice_payment_intent_requires_action", None),
        ("card_declined", "authentication_required"),
    ):
        exc = _raised(
            _card_error(
                code, decline, payment_intent={"id": "pi_1", "client_secret": "pi_1_secret"}
            )
        )
        assert isinstance(exc, AuthenticationRequired) and isinstance(exc, PaymentDeclined)
        assert exc.status_code == 402 and exc.code == "authentication_required"
        assert (
            exc.detail["payment_intent_id"] == "pi_1"
            and exc.detail["client_secret"] == "pi_1_secret"
        )


def _invalid(code, status=400, message="No such invoice: 'in_x'"):
    return stripe.InvalidRequestError(
        message,
        "id",
        code=code,
        http_status=status,
        json_body={"error": {"type": "invalid_request_error", "code": code}},
    )


def test_refusals_missing_objects_and_closed_invoices():
    assert type(_raised(_invalid("resource_missing", 404))) is NotFound
    assert (
        type(_raised(_invalid("invoice_not_open", message="Invoice is already paid")))
        is InvoiceNotPayable
    )
    refused = _raised(_invalid("parameter_invalid_integer", message="Invalid integer"))
    assert type(refused) is InvalidRequest and refused.detail == {
        "stripe_code": "parameter_invalid_integer",
        "param": "id",
    }
    conflict = _raised(
        stripe.IdempotencyError(
            "Keys for idempotent requests can only be used with the same parameters",
            http_status=400,
        )
    )
    assert type(conflict) is Conflict and conflict.code == "idempotency_conflict"


@pytest.mark.parametrize(
    "exc",
    [
        stripe.RateLimitError("Too many requests", http_status=429),
        stripe.APIConnectionError("timed out"),
        stripe.APIError("An unknown error occurred", http_status=500),
        stripe.AuthenticationError("Invalid API Key", http_status=401),
    ],
)
def test_outages_and_rate_limits_are_a_retryable_503(exc):
    unavailable = _raised(exc)
    assert type(unavailable) is StripeUnavailable and unavailable.status_code == 503
    assert (
        unavailable.code == "payment_provider_unavailable"
        and unavailable.headers["Retry-After"] == "5"
    )
    assert unavailable.__cause__ is exc  # the log keeps Stripe's own error


def test_other_exceptions_pass_through():
    with pytest.raises(KeyError), stripe_errors():
        raise KeyError("not Stripe's")
    assert errors.translate(stripe.APIError("x")).code == "payment_provider_unavailable"


def test_one_idempotency_key_helper():
    from billing_project.stripe_gateway.keys import op_key, request_options

    assert op_key("sub-create", "ten_1", "abc") == "sub-create:ten_1:abc"
    assert op_key("sub-create", "ten_1") != op_key(
        "sub-create", "ten_1"
    )  # fresh without a client key
    assert request_options("k") == {"idempotency_key": "k"} and request_options(None) == {}
