"""Swagger UI (/docs) and ReDoc (/redoc) are served by the project (drf-spectacular-sidecar), not a CDN.

The browser test blocks every request that leaves the live server: the docs must still load their
scripts and render the API's operations, as they would on a machine without internet access.
"""

import re
from urllib.parse import urlsplit

import pytest

from tests.portal.test_browser import (  # noqa: F401 (fixtures)
    CHROMIUM,
    chromium,
    live_portal,
    transactional_db,
)

ASSET = re.compile(r'(?:src|href)="([^"]+)"')


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_docs_pages_load_their_assets_from_the_project(api_client, path):
    response = api_client.get(path)
    assert response.status_code == 200
    html = response.content.decode()
    assets = [url for url in ASSET.findall(html) if url.endswith((".js", ".css", ".png"))]
    assert assets, html
    for url in assets:
        assert not urlsplit(url).netloc, f"{path} loads {url} from another host"
        assert url.startswith("/static/drf_spectacular_sidecar/"), url
        assert api_client.get(url).status_code == 200, url
    assert "fonts.googleapis.com" not in html


@pytest.mark.browser
@pytest.mark.skipif(not __import__("os").path.exists(CHROMIUM), reason=f"{CHROMIUM} is missing")
def test_swagger_ui_shows_the_operations_with_no_internet(chromium, live_portal):  # noqa: F811 (pytest fixtures imported above)  # noqa: F811 (pytest fixtures imported above)
    context = chromium.new_context(viewport={"width": 1200, "height": 900})
    context.set_default_timeout(30_000)
    own = urlsplit(live_portal.url).netloc
    left = []

    def only_the_live_server(route):
        if urlsplit(route.request.url).netloc == own:
            route.continue_()
        else:
            left.append(route.request.url)
            route.abort()

    context.route("**/*", only_the_live_server)
    page = context.new_page()
    problems = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("console", lambda msg: msg.type == "error" and problems.append(msg.text))
    try:
        page.goto(f"{live_portal.url}/docs")
        try:
            page.locator(".opblock").first.wait_for(timeout=60_000)
        except Exception as exc:
            raise AssertionError(f"no operations rendered: {problems} {left}") from exc
        assert page.locator(".opblock-summary-path", has_text="/api/v1/plans").count() >= 1
        assert page.locator(".opblock-summary-path", has_text="/api/v1/usage").count() >= 1
        assert left == [], f"the docs tried to reach {left}"

        page.goto(f"{live_portal.url}/redoc")
        page.get_by_text("/api/v1/plans").first.wait_for(state="attached")
        assert left == [], f"ReDoc tried to reach {left}"
    finally:
        context.close()
