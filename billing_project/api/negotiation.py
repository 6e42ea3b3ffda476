"""The API's content negotiation: DRF's, answered at once for what nearly every client sends.

DRF parses the Accept header into media types and ranks them against each renderer on every request:
about 40 us of a cached `GET /api/v1/plans` (issue 21). Without a query string (no `?format=`)
and with no Accept header, `*/*` or exactly the first renderer's media type, DRF's answer is
always that renderer and its own media type; anything else is negotiated by DRF as before.
"""

from rest_framework.negotiation import DefaultContentNegotiation

JSON = "application/json"  # the media type of the API's one renderer (renderers.FastJSONRenderer)


def usual_json_request(meta) -> bool:
    """A request (its META) whose negotiation can only end in the API's JSON renderer with its own
    media type: no query string (no `?format=`), and no Accept header, `*/*` or `application/json`."""
    return not meta.get("QUERY_STRING") and meta.get("HTTP_ACCEPT", "*/*") in ("*/*", JSON)


class FastContentNegotiation(DefaultContentNegotiation):
    def select_renderer(self, request, renderers, format_suffix=None):
        renderer = renderers[0]
        if (
            format_suffix is None
            and renderer.media_type == JSON
            and usual_json_request(request.META)
        ):
            return renderer, renderer.media_type
        return super().select_renderer(request, renderers, format_suffix)
