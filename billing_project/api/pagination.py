"""Lists are bare JSON arrays; the next page's URL travels in a `Link: <...>; rel="next"` header.

Cursor (not offset) paging: stable while rows are inserted, and no COUNT(*) on big tables.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework.exceptions import NotFound as DrfNotFound
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response

from billing_project.api.exceptions import InvalidRequest

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
LIMIT_MESSAGE = f"limit must be an integer between 1 and {MAX_LIMIT}."


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
        return (
            ordering
            if "pk" in ordering or "-pk" in ordering
            else ordering + ("-pk" if ordering[0].startswith("-") else "pk",)
        )

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        try:
            limit = int(raw)
        except ValueError:
            raise InvalidRequest(LIMIT_MESSAGE, detail={"limit": ["Not an integer."]}) from None
        # Out of range is refused, not clamped: a client asking for 1,000 rows and silently getting
        # 500 would take the page for the whole list (API.md: max 500).
        if not 1 <= limit <= MAX_LIMIT:
            raise InvalidRequest(
                LIMIT_MESSAGE, detail={"limit": [f"Must be between 1 and {MAX_LIMIT}."]}
            )
        return limit

    def decode_cursor(self, request):
        # DRF answers a cursor it cannot read with 404, as if the list were missing; it is the
        # client's input that is wrong.
        try:
            return super().decode_cursor(request)
        except DrfNotFound:
            raise InvalidRequest(
                "cursor is not one this API issued; use the Link header's URL.",
                detail={"cursor": ["Invalid cursor."]},
            ) from None

    def paginate_queryset(self, queryset, request, view=None):
        # A cursor is base64 the client can forge: a position that is not a value of the ordering
        # field ("p=abc" against an integer id) fails when the filter is built.
        try:
            return super().paginate_queryset(queryset, request, view)
        except (ValueError, TypeError, OverflowError, DjangoValidationError):
            raise InvalidRequest(
                "cursor is not one this API issued; use the Link header's URL.",
                detail={"cursor": ["Invalid cursor."]},
            ) from None

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
            {
                "name": "limit",
                "in": "query",
                "required": False,
                "description": f"Page size (default {DEFAULT_LIMIT}, max {MAX_LIMIT}); out of range is a 400.",
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
            },
            {
                "name": "cursor",
                "in": "query",
                "required": False,
                "description": 'Opaque cursor from the previous page\'s `Link: <...>; rel="next"` header; '
                "one the API did not issue is a 400.",
                "schema": {"type": "string"},
            },
        ]
