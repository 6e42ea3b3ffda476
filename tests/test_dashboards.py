"""Every series the Grafana dashboards and the Prometheus alerts query is one /metrics exports, with the
labels they filter and group by, and used as its type allows (rate/increase of counters, gauges as such).

The exported series come from a real scrape of /metrics after the code paths behind them have run.
"""

import json
import re
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

REPO = Path(__file__).resolve().parent.parent
DASHBOARDS = REPO / "config" / "grafana" / "dashboards"
ALERTS = REPO / "config" / "prometheus" / "alerts.yml"
# Series Prometheus itself adds to every target.
PROMETHEUS_SERIES = {"up": set()}
COUNTER_FUNCTIONS = {"rate", "irate", "increase", "resets"}
GAUGE_FUNCTIONS = {"delta", "deriv", "idelta", "predict_linear"}
SERIES = re.compile(r"\b((?:billing|django)_\w+|up)\b\s*(\{[^}]*\})?")
LABEL_MATCHER = re.compile(r"(\w+)\s*(?:=~|!~|!=|=)")
GROUPING = re.compile(r"\b(?:by|without)\s*\(([^)]*)\)")


def expressions() -> list[tuple[str, str]]:
    """(where, PromQL) of every dashboard panel target and alert rule."""
    found = []
    for path in sorted(DASHBOARDS.glob("*.json")):

        def walk(node, where):
            if isinstance(node, dict):
                if isinstance(node.get("expr"), str) and node["expr"].strip():
                    found.append((where, node["expr"]))
                for value in node.values():
                    walk(value, where)
            elif isinstance(node, list):
                for value in node:
                    walk(value, where)

        walk(json.loads(path.read_text()), path.name)
    for group in yaml.safe_load(ALERTS.read_text()).get("groups", []):
        for rule in group.get("rules", []):
            found.append(
                (f"alerts.yml {rule.get('alert') or rule.get('record')}", str(rule["expr"]))
            )
    return found


def exported(text: str) -> dict[str, tuple[str, set[str]]]:
    """{sample name: (family type, label names)} of a scrape."""
    series: dict[str, tuple[str, set[str]]] = {}
    for family in text_string_to_metric_families(text):
        names = {
            "counter": [family.name + "_total"],
            "histogram": [family.name + suffix for suffix in ("_bucket", "_count", "_sum")],
        }.get(family.type, [family.name])
        for name in names:
            series.setdefault(name, (family.type, set()))
        for sample in family.samples:
            series.setdefault(sample.name, (family.type, set()))[1].update(sample.labels)
    return series


@pytest.fixture
def scrape(api_client, tenant, django_capture_on_commit_callbacks):
    """/metrics after an API request, a payment, a notification and a gauge refresh."""
    from billing_project.business_metrics import COUNTERS, GAUGES, series_key
    from billing_project.redis import get_redis
    from invoicing.metrics import payment_attempt_count
    from notifications.metrics import notification_outcome_count
    from subscriptions.metrics import subscription_metrics_refresh
    from subscriptions.models import BillingAccount, Plan

    keys = [series_key(name) for name in (*COUNTERS, *GAUGES)]
    assert api_client.get("/api/v1/plans").status_code == 200
    BillingAccount.objects.update_or_create(
        tenant=tenant,
        defaults={
            "subscription_id": "sub_dashboards",
            "status": "active",
            "plan": Plan.objects.get(code="starter"),
            "billing_cycle": "monthly",
        },
    )
    subscription_metrics_refresh()
    with django_capture_on_commit_callbacks(execute=True):
        payment_attempt_count(status="failed", currency="usd")
    notification_outcome_count(channel="email", kind="payment_failed", status="failed")
    from types import SimpleNamespace

    from analytics.metrics import analytics_metrics_refresh
    from analytics.models import SubscriptionFact
    from usage.counters import counters_store
    from usage.metrics import usage_ingested_increments

    counters_store(
        tenant.schema_name,
        [],
        increments=usage_ingested_increments(
            plan_id="starter",
            known={"api_calls"},
            events=[SimpleNamespace(resource_type="api_calls", quantity="12.5")],
        ),
    )
    SubscriptionFact.objects.create(tenant=tenant, status="active", currency="usd", mrr=2900)
    analytics_metrics_refresh()
    try:
        response = api_client.get("/metrics")
        assert response.status_code == 200
        yield exported(response.content.decode())
    finally:
        get_redis().delete(*keys)


@pytest.mark.django_db
def test_dashboards_and_alerts_query_only_exported_series_with_their_labels_and_types(scrape):
    exprs = expressions()
    assert len(exprs) > 20, "no dashboard expressions found"
    problems = []
    for where, expr in exprs:
        used = [(m.group(1), m.group(2) or "", m.start()) for m in SERIES.finditer(expr)]
        labels_available: set[str] = set()
        for name, selector, start in used:
            if name in PROMETHEUS_SERIES:
                labels_available |= {"job", "instance"}
                continue
            if name not in scrape:
                problems.append(f"{where}: {name} is not exported (in {expr!r})")
                continue
            kind, labels = scrape[name]
            labels_available |= labels | {"job", "instance"}
            for label in LABEL_MATCHER.findall(selector):
                if label not in labels:
                    problems.append(
                        f"{where}: {name} has no label {label!r} (has {sorted(labels)})"
                    )
            function = re.search(r"(\w+)\s*\(\s*$", expr[:start])
            function = function.group(1) if function else ""
            if kind in ("counter", "histogram") and function not in COUNTER_FUNCTIONS:
                problems.append(
                    f"{where}: counter {name} used without rate()/increase() (in {expr!r})"
                )
            if kind == "gauge" and function in COUNTER_FUNCTIONS:
                problems.append(f"{where}: gauge {name} used with {function}() (in {expr!r})")
        for grouping in GROUPING.findall(expr):
            for label in filter(None, (part.strip() for part in grouping.split(","))):
                if label not in labels_available:
                    problems.append(
                        f"{where}: groups by {label!r}, which none of its series has (in {expr!r})"
                    )
    assert not problems, "\n".join(problems)


@pytest.mark.django_db
def test_the_business_series_the_dashboards_need_are_exported_with_their_types(scrape):
    assert scrape["billing_payments_total"] == ("counter", {"status", "currency"})
    assert scrape["billing_notifications_total"] == ("counter", {"channel", "kind", "status"})
    assert scrape["billing_subscriptions_total"] == ("gauge", {"status", "plan_id"})
    assert scrape["billing_monthly_revenue_dollars"] == ("gauge", {"currency"})
    assert scrape["billing_api_requests_total"] == ("counter", {"method", "endpoint", "status"})
    assert scrape["billing_usage_events_total"] == ("counter", {"plan_id", "resource_type"})
    assert scrape["billing_usage_quantity_total"] == ("counter", {"plan_id", "resource_type"})
    assert scrape["billing_mrr_dollars"] == ("gauge", {"currency"})
    assert scrape["billing_mrr_movements_dollars"] == ("gauge", {"currency", "kind"})
