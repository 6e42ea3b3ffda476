"""The one JSON error shape of the API.

Services raise the domain errors of billing_project.errors (re-exported here); api_exception_handler
turns them and DRF's own exceptions into `{"error": {"code", "message", "detail"}}` with the right
status. Bad input never yields a 5xx.
"""

import logging

import psycopg
import redis
from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from django.views.defaults import page_not_found, server_error
from kombu.exceptions import OperationalError as BrokerError
from rest_framework import exceptions as drf
from rest_framework.response import Response

# Re-exported: the API layer maps these; their home is the domain module.
from billing_project.errors import (  # noqa: F401
    SERVICE_UNAVAILABLE_RETRY_AFTER,
    Conflict,
    DomainError,
    InvalidRequest,
    LengthRequired,
    NotFound,
    PayloadTooLarge,
    PermissionDeniedError,
    RateLimited,
    ServiceUnavailable,
)

logger = logging.getLogger(__name__)


def error_body(code: str, message: str, detail=None) -> dict:
    return {"error": {"code": code, "message": message, "detail": detail}}


# --- errors of the infrastructure -----------------------------------------------------------------

# A database that refuses connections (down, "too many clients", a pool timeout), a Redis that does
# not answer, a broker that cannot take a task: none is the client's fault or a bug, and a retry a
# little later may work. Django wraps psycopg's errors, but a few paths (the pool) raise them raw.
INFRASTRUCTURE_ERRORS = (
    OperationalError,
    InterfaceError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
    redis.ConnectionError,
    redis.TimeoutError,
    BrokerError,
)


def is_infrastructure_error(exc: BaseException) -> bool:
    return isinstance(exc, INFRASTRUCTURE_ERRORS)


def service_unavailable_response() -> JsonResponse:
    """The API's 503 outside DRF (middleware): the same body and Retry-After as ServiceUnavailable."""
    exc = ServiceUnavailable()
    response = JsonResponse(error_body(exc.code, exc.message), status=exc.status_code)
    for name, value in exc.headers.items():
        response[name] = value
    return response


_DRF_CODES = [
    (drf.NotAuthenticated, "authentication_failed"),
    (drf.AuthenticationFailed, "authentication_failed"),
    (drf.PermissionDenied, "permission_denied"),
    (drf.NotFound, "not_found"),
    (drf.MethodNotAllowed, "method_not_allowed"),
    (drf.NotAcceptable, "not_acceptable"),
    (drf.UnsupportedMediaType, "unsupported_media_type"),
    (drf.Throttled, "rate_limited"),
    (drf.ParseError, "invalid_request"),
    (drf.ValidationError, "invalid_request"),
]


def _message_of(detail) -> str:
    if isinstance(detail, str):
        return detail
    if isinstance(detail, list) and detail:
        return _message_of(detail[0])
    if isinstance(detail, dict) and detail:
        field, errors = next(iter(detail.items()))
        text = _message_of(errors)
        return text if field in ("non_field_errors", "__all__") else f"{field}: {text}"
    return "The request is invalid."


def api_exception_handler(exc, context):
    """DRF's EXCEPTION_HANDLER: every error leaves the API in the same shape."""
    if is_infrastructure_error(exc):
        # One line per request, no traceback: an outage would otherwise bury the log.
        logger.warning("dependency unavailable, answering 503: %s: %s", type(exc).__name__, exc)
        exc = ServiceUnavailable()
    elif isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge(
            f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes."
        )
    elif isinstance(exc, DataError):
        # The database refused a value that validation let through: a safety net (validation should
        # have said why), since bad input never yields a 5xx.
        logger.warning("the database refused a value of a request, answering 400", exc_info=exc)
        exc = InvalidRequest("A value of the request cannot be stored.")
    if isinstance(exc, DomainError):
        return Response(
            error_body(exc.code, exc.message, exc.detail),
            status=exc.status_code,
            headers=exc.headers,
        )
    if isinstance(exc, Http404):
        exc = drf.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf.PermissionDenied()
    elif isinstance(exc, DjangoValidationError):
        exc = drf.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    if not isinstance(exc, drf.APIException):
        return None  # a bug: let Django log it and answer 500 (JSON through handler500)

    code = next((c for cls, c in _DRF_CODES if isinstance(exc, cls)), "error")
    headers = {}
    if isinstance(exc, drf.Throttled) and exc.wait:
        headers["Retry-After"] = str(int(exc.wait) + 1)
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if isinstance(exc, drf.ValidationError):
        detail = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        return Response(error_body(code, _message_of(detail), detail), status=400, headers=headers)
    return Response(
        error_body(code, _message_of(exc.detail), None), status=exc.status_code, headers=headers
    )


def json_404(request, exception=None):
    if request.path.startswith("/api/"):
        return JsonResponse(error_body("not_found", "Not found."), status=404)
    return page_not_found(request, exception)


def json_500(request):
    if request.path.startswith("/api/"):
        return JsonResponse(error_body("server_error", "Internal server error."), status=500)
    return server_error(request)
