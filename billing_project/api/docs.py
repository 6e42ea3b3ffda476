"""The API's documentation pages, served with every asset from the project (drf-spectacular-sidecar)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularRedocView


class OfflineRedocView(SpectacularRedocView):
    """ReDoc whose page loads nothing from another host.

    ReDoc's bundle always renders an <img> of Redocly's logo from its CDN in the sidebar footer; the
    Content-Security-Policy keeps the browser from fetching it (and anything else off the host), so
    the page works the same offline and leaks no visit to a third party.
    """

    @extend_schema(exclude=True)  # the page, not an API operation (as the parent's get)
    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        response["Content-Security-Policy"] = (
            "default-src 'self'; img-src 'self' data:; font-src 'self' data:; "
            "style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'; worker-src 'self' blob:"
        )
        return response
