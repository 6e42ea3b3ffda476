"""Middleware of the project (see settings.MIDDLEWARE for the order)."""

from django.db import connection
from django_tenants.middleware.main import TenantMainMiddleware

from billing_project.health import health
from billing_project.metrics import metrics_view
from tenants import selectors as tenant_selectors


class OpsEndpointsMiddleware:
    """Serves /health and /metrics before tenant resolution.

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
            if request.path in ("/metrics", "/metrics/"):
                return metrics_view(request)
        return self.get_response(request)


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
