"""Prometheus metrics of the API and the /metrics view.

/metrics reports django-prometheus's django_* series and billing_api_requests_total (per process, or
summed over every gunicorn worker in multi-process mode), plus the business series that every process
(web, Celery worker, beat) counts in Redis (billing_project/business_metrics.py).
"""

import os
import re

from django.http import HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

from billing_project.business_metrics import COLLECTOR as BUSINESS_COLLECTOR

API_REQUESTS = Counter(
    "billing_api_requests_total",
    "API requests by method, endpoint (route template) and status",
    ["method", "endpoint", "status"],
)

_CONVERTER = re.compile(r"<(?:\w+:)?(\w+)>")


def endpoint_label(request) -> str:
    # The route template, not the raw path: ids in paths would give every object its own series.
    match = getattr(request, "resolver_match", None)
    if match is None or match.route is None:
        return "unmatched"
    return "/" + _CONVERTER.sub(r"{\1}", match.route).lstrip("^").rstrip("$")


class ApiRequestMetricsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.path.startswith("/api/"):
            API_REQUESTS.labels(
                request.method, endpoint_label(request), str(response.status_code)
            ).inc()
        return response


def metrics_view(request):
    """GET /metrics, without a database query. With PROMETHEUS_MULTIPROC_DIR set (gunicorn, see
    config/gunicorn.conf.py) the per-process series are the sum of every worker's files, as in
    django-prometheus's ExportToDjangoView, which would leave the business collector out."""
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ or "prometheus_multiproc_dir" in os.environ:
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        registry.register(BUSINESS_COLLECTOR)
    else:
        registry = REGISTRY  # the business collector registers itself there
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
