"""Middleware of the project (see settings.MIDDLEWARE for the order)."""

from django.db import connection
from django_tenants.middleware.main import TenantMainMiddleware

from billing_project.health import health
from billing_project.metrics import metrics_view
from tenants.cache import cached


class OpsEndpointsMiddleware:
    """Serves /health and /metrics before tenant resolution.

    The tenant middleware reads the domain table on every request; /health must still answer (503)
    when the database is down, and scrapes of /metrics must not cost a query. With
    PROMETHEUS_MULTIPROC_DIR set, django-prometheus's view answers with the sum over every gunicorn
    worker (prometheus_client's MultiProcessCollector; see config/gunicorn.conf.py).
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
        def load():
            domain = domain_model.objects.select_related("tenant").filter(domain=hostname).first()
            return domain.tenant if domain is not None else None

        tenant = cached(f"host:{hostname}", load)
        if tenant is None:
            raise domain_model.DoesNotExist(hostname)
        return tenant
