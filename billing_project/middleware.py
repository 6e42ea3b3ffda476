"""Middleware of the project (see settings.MIDDLEWARE for the order)."""

import logging
import sys

from django.core.signals import got_request_exception
from django.db import connection
from django.http import HttpResponse
from django.template.loader import render_to_string
from django_tenants.middleware.main import TenantMainMiddleware

from billing_project.api.exceptions import (
    SERVICE_UNAVAILABLE_RETRY_AFTER,
    is_infrastructure_error,
    service_unavailable_response,
)
from billing_project.health import health, live, ready
from billing_project.metrics import metrics_view
from tenants import selectors as tenant_selectors


class OpsEndpointsMiddleware:
    """Serves /health (and the probes /health/live, /health/ready) and /metrics before tenant
    resolution.

    The tenant middleware reads the domain table on every request; /health must still answer (503)
    when the database is down, and scrapes of /metrics must not cost a query (see
    billing_project.metrics.metrics_view).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method in ("GET", "HEAD"):
            if request.path in ("/health", "/health/"):
                return health(request)
            if request.path in ("/health/live", "/health/live/"):
                return live(request)
            if request.path in ("/health/ready", "/health/ready/"):
                return ready(request)
            if request.path in ("/metrics", "/metrics/"):
                return metrics_view(request)
        return self.get_response(request)


logger = logging.getLogger(__name__)


def _wants_json(request) -> bool:
    accept = request.headers.get("Accept", "")
    return request.path.startswith("/api/") or (
        "application/json" in accept and "text/html" not in accept
    )


def _unavailable(request) -> HttpResponse:
    """503 with Retry-After: the API's JSON error, or a small page for the portal and the admin."""
    if _wants_json(request):
        return service_unavailable_response()
    try:
        # No request context: its processors (user, messages) would ask the database that is down.
        html: str = render_to_string("503.html")
    except Exception:  # the page must not fail in its turn
        html = (
            "<!doctype html><title>Temporarily unavailable</title><h1>Temporarily unavailable</h1>"
        )
    response = HttpResponse(html, status=503)
    response["Retry-After"] = str(SERVICE_UNAVAILABLE_RETRY_AFTER)
    return response


def _remember_infrastructure_error(sender, request=None, **kwargs):
    exc = sys.exc_info()[1]
    if request is not None and exc is not None and is_infrastructure_error(exc):
        request._infrastructure_error = exc


# Django turns an exception raised in any middleware (the tenant lookup, the session) into a 500
# before it reaches an outer one; it sends this signal first, inside the `except`, so the error can
# be recognised here and the 500 replaced below.
got_request_exception.connect(
    _remember_infrastructure_error, dispatch_uid="billing_infrastructure_error"
)


class InfrastructureErrorMiddleware:
    """The database, Redis or the broker unreachable -> 503 with Retry-After, never a 500: JSON under
    /api (and for JSON clients), a small HTML page elsewhere. Views' errors arrive through
    process_exception (DRF views answer 503 themselves, billing_project.api.exceptions); errors of
    the middleware below through got_request_exception. Place it outermost but for /health."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        exc = getattr(request, "_infrastructure_error", None)
        if exc is not None and response.status_code >= 500:
            logger.warning("dependency unavailable, answering 503: %s: %s", type(exc).__name__, exc)
            return _unavailable(request)
        return response

    def process_exception(self, request, exception):
        if is_infrastructure_error(exception):
            logger.warning(
                "dependency unavailable, answering 503: %s: %s", type(exception).__name__, exception
            )
            return _unavailable(request)
        return None


class RestoreTenantMiddleware:
    """API authentication switches the connection to the credential's schema; put the host's
    tenant back afterwards so nothing later in this thread runs in the wrong schema."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            return self.get_response(request)
        finally:
            tenant = getattr(request, "tenant", None)
            if tenant is not None:
                connection.set_tenant(tenant)
            else:
                connection.set_schema_to_public()


class TenantMiddleware(TenantMainMiddleware):
    """django-tenants' host -> tenant resolution, with the answer (also "no such host": the API's
    public host) cached per process; see tenants/cache.py for how changes reach every worker."""

    def get_tenant(self, domain_model, hostname):
        tenant = tenant_selectors.tenant_get_by_host(hostname=hostname)
        if tenant is None:
            raise domain_model.DoesNotExist(hostname)
        return tenant
