"""The dashboard's usage chart: one inline SVG per resource over the current period, from the
tenant's own usage only, and an empty state before any usage."""

import re

import pytest
from django.utils import timezone

from tests.portal.conftest import OTHER_PORTAL_HOST
from tests.usage.conftest import _usage_caches_clean, event  # noqa: F401 (autouse fixture: Redis counters)

pytestmark = pytest.mark.django_db


def ingest(tenant, quantity: str, resource_type: str = "api_calls"):
    from usage.services import usage_event_ingest

    usage_event_ingest(
        tenant=tenant,
        data=event(
            quantity=quantity, resource_type=resource_type, period_start=timezone.now().isoformat()
        ),
    )


def charts_in(html: str) -> list[str]:
    return re.findall(r'<figure class="usage-chart">.*?</figure>', html, flags=re.S)


def test_without_usage_the_dashboard_says_there_is_nothing_to_chart(owner_portal):
    html = owner_portal.get("/").content.decode()
    assert "Usage over the period" in html
    assert "Nothing to chart yet: no usage recorded in this period." in html
    assert charts_in(html) == []


def test_with_usage_each_resource_has_a_chart_against_its_limit(owner_portal, tenant):
    ingest(tenant, "250")
    ingest(tenant, "120")
    html = owner_portal.get("/").content.decode()
    assert "Nothing to chart yet" not in html
    api_calls = next(chart for chart in charts_in(html) if "<figcaption>api_calls" in chart)
    assert 'role="img"' in api_calls and 'viewBox="0 0 480 200"' in api_calls
    label = re.search(r'aria-label="([^"]+)"', api_calls).group(1)
    assert label.startswith("api_calls from ") and label.endswith(": 370 of 1,000 requests so far.")
    assert f"<title>{label}</title>" in api_calls
    assert '<line class="limit"' in api_calls  # the Free plan's 1000 as a dashed line
    assert re.search(r'<polyline class="line" points="[\d.]+,[\d.]+( [\d.]+,[\d.]+)+"', api_calls)
    assert ">1,000</text>" in api_calls  # the top gridline, the limit


def test_the_chart_speaks_the_visitors_language(owner_portal, tenant):
    ingest(tenant, "1500")
    owner_portal.post("/i18n/setlang/", {"language": "pt-br", "next": "/"})
    html = owner_portal.get("/").content.decode()
    assert "Uso ao longo do período" in html
    api_calls = next(chart for chart in charts_in(html) if "<figcaption>api_calls" in chart)
    assert "1.500 de 1.000 requests até agora." in api_calls and ">1.500</text>" in api_calls
    assert re.search(r'points="[\d.]+,[\d.]+ ', api_calls)  # coordinates stay "12.5", never "12,5"


def test_another_tenants_usage_is_not_charted(portal_client_for, tenant, other_owner, other_tenant):
    ingest(tenant, "777")
    client = portal_client_for(other_owner, host=OTHER_PORTAL_HOST, on_tenant=other_tenant)
    html = client.get("/").content.decode()
    assert "777" not in html
    assert charts_in(html) == []


def test_dashboard_tells_what_usage_above_the_limit_adds_to_the_next_invoice(
    owner_portal, subscribed, tenant
):
    from django.conf import settings

    ingest(tenant, "9000")
    assert 'id="overage-estimate"' not in owner_portal.get("/").content.decode()
    ingest(tenant, "3500")
    html = owner_portal.get("/").content.decode()
    assert "Above the limit so far: 2,500 api_calls, $5.00 on the next invoice." in html
    owner_portal.cookies[settings.LANGUAGE_COOKIE_NAME] = "pt-br"
    html = owner_portal.get("/").content.decode()
    assert "Acima do limite até agora: 2.500 api_calls, US$\xa05,00 na próxima fatura." in html
