"""The API's content negotiation: DRF's, answered at once for what nearly every client sends.

DRF parses the Accept header into media types and ranks them against each renderer on every request:
about 40 us of a cached `GET /api/v1/plans` (issue 21). Without a query string (no `?format=`)
and with no Accept header, `*/*` or exactly the first renderer's media type, DRF's answer is
always that renderer and its own media type; anything else is negotiated by DRF as before.
"""

from rest_framework.negotiation import DefaultContentNegotiation


class FastContentNegotiation(DefaultContentNegotiation):
    def select_renderer(self, request, renderers, format_suffix=None):
        meta = request.META
        if format_suffix is None and not meta.get("QUERY_STRING"):
            accept = meta.get("HTTP_ACCEPT", "*/*")
            renderer = renderers[0]
            if accept == "*/*" or accept == renderer.media_type:
                return renderer, renderer.media_type
        return super().select_renderer(request, renderers, format_suffix)
