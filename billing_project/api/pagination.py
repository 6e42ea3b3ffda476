"""Lists are bare JSON arrays; the next page's URL travels in a `Link: <...>; rel="next"` header.

Cursor (not offset) paging: stable while rows are inserted, and no COUNT(*) on big tables.
"""

from rest_framework.pagination import CursorPagination
from rest_framework.response import Response

from billing_project.api.exceptions import InvalidRequest

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


class LinkCursorPagination(CursorPagination):
    cursor_query_param = "cursor"
    page_size = DEFAULT_LIMIT
    page_size_query_param = "limit"
    max_page_size = MAX_LIMIT
    ordering = "-created"

    def get_ordering(self, request, queryset, view):
        # Views choose their order with `ordering`; a unique tie-breaker keeps cursors exact.
        ordering = getattr(view, "ordering", None) or self.ordering
        ordering = (ordering,) if isinstance(ordering, str) else tuple(ordering)
        return ordering if "pk" in ordering or "-pk" in ordering else ordering + ("-pk" if ordering[0].startswith("-") else "pk",)

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        try:
            limit = int(raw)
        except ValueError:
            raise InvalidRequest("limit must be an integer between 1 and 500.", detail={"limit": ["Not an integer."]})
        if limit < 1:
            raise InvalidRequest("limit must be an integer between 1 and 500.", detail={"limit": ["Must be >= 1."]})
        return min(limit, self.max_page_size)

    def get_paginated_response(self, data):
        headers = {}
        next_url = self.get_next_link()
        if next_url:
            headers["Link"] = f'<{next_url}>; rel="next"'
        return Response(data, headers=headers)

    def get_paginated_response_schema(self, schema):
        return schema

    def get_schema_operation_parameters(self, view):
        return [
            {"name": "limit", "in": "query", "required": False,
             "description": f"Page size (default {DEFAULT_LIMIT}, max {MAX_LIMIT}).",
             "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}},
            {"name": "cursor", "in": "query", "required": False,
             "description": 'Opaque cursor from the previous page\'s `Link: <...>; rel="next"` header.',
             "schema": {"type": "string"}},
        ]
