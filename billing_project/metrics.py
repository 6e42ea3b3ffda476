"""Prometheus metrics of the API. django-prometheus serves /metrics and its own django_* series."""

import re

from prometheus_client import Counter

API_REQUESTS = Counter(
    "billing_api_requests_total", "API requests by method, endpoint (route template) and status",
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
            API_REQUESTS.labels(request.method, endpoint_label(request), str(response.status_code)).inc()
        return response
