"""Prometheus metrics of the API and the /metrics view.

/metrics reports django-prometheus's django_* series and billing_api_requests_total (per process, or
summed over every gunicorn worker in multi-process mode), plus the business series that every process
(web, Celery worker, beat) counts in Redis (billing_project/business_metrics.py).
"""

import os
import re
from functools import lru_cache
from typing import Any

from django.http import HttpResponse
from django_prometheus.middleware import PrometheusAfterMiddleware
from django_prometheus.utils import Time, TimeSince
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


@lru_cache(maxsize=1024)
def _route_label(route: str) -> str:
    return "/" + _CONVERTER.sub(r"{\1}", route).lstrip("^").rstrip("$")


def endpoint_label(request) -> str:
    # The route template, not the raw path: ids in paths would give every object its own series.
    match = getattr(request, "resolver_match", None)
    if match is None or match.route is None:
        return "unmatched"
    return _route_label(match.route)


class RequestMetricsMiddleware(PrometheusAfterMiddleware):
    """The request series /metrics serves, written once per request.

    django-prometheus's two middlewares write about fifteen values per request (each a locked write
    to a memory-mapped file under gunicorn), most of them series nothing here reads. This keeps the
    ones the dashboards, alerts and tests read: django_http_requests_total_by_method,
    ..._by_view_transport_method (process_view, inherited), django_http_responses_total_by_status,
    django_http_requests_latency_seconds_by_view_method and django_http_exceptions_* (inherited),
    plus billing_api_requests_total{method,endpoint,status} for /api/ paths."""

    def process_request(self, request):
        _series(self.metrics.requests_by_method, self._method(request)).inc()
        request.prometheus_after_middleware_event = Time()

    def process_response(self, request, response):
        status = str(response.status_code)
        _series(self.metrics.responses_by_status, status).inc()
        started = getattr(request, "prometheus_after_middleware_event", None)
        if started is not None:
            _series(
                self.metrics.requests_latency_by_view_method,
                self._get_view_name(request),
                request.method,
            ).observe(TimeSince(started))
        if request.path.startswith("/api/"):
            _series(API_REQUESTS, request.method, endpoint_label(request), status).inc()
        return response


_children: dict[tuple, Any] = {}


def _series(metric, *label_values: str):
    """`metric.labels(*label_values)`, kept: prometheus_client checks and locks on every call (5 us
    each, four a request), for the same few series (methods, statuses, routes: bounded)."""
    key = (id(metric), *label_values)
    child = _children.get(key)
    if child is None:
        child = _children[key] = metric.labels(*label_values)
    return child


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
