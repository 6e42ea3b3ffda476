"""Several nodes (issue 20): two gunicorn servers on two ports against the same PostgreSQL and Redis,
as two web nodes behind one load balancer. What one node changes the other acts on at the next
request: a revoked API key, usage counted on both."""

import threading
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import requests

from tests.conftest import DEMO_PASSWORD
from tests.reliability.conftest import gunicorn_server

pytestmark = [pytest.mark.django_db, pytest.mark.live]

TIMEOUT = 60


def _login(node) -> dict:
    # Through the server, not in-process: a login written in the test's open transaction would hold
    # the user's row locked against the servers.
    answer = requests.post(
        node + "/api/v1/auth/login",
        json={"email": "owner@acme.test", "password": DEMO_PASSWORD},
        timeout=TIMEOUT,
    )
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


@pytest.fixture
def two_nodes(tmp_path):
    with (
        gunicorn_server(tmp_path, workers=1) as first,
        gunicorn_server(tmp_path, workers=1) as second,
    ):
        yield first.url, second.url


def test_a_key_revoked_on_one_node_is_refused_by_the_other_at_once(two_nodes):
    node_a, node_b = two_nodes
    jwt = _login(node_b)
    created = requests.post(
        node_a + "/api/v1/api-keys",
        json={"name": f"node-test-{uuid.uuid4().hex[:6]}", "role": "viewer"},
        headers=jwt,
        timeout=TIMEOUT,
    )
    assert created.status_code == 201, created.text
    key = {"X-API-Key": created.json()["key"]}
    # Node B knows the key (and caches it for CREDENTIAL_CACHE_SECONDS, per process).
    assert requests.get(node_b + "/api/v1/usage/summary", headers=key, timeout=TIMEOUT).ok
    assert requests.get(node_b + "/api/v1/usage/summary", headers=key, timeout=TIMEOUT).ok

    revoked = requests.delete(
        f"{node_a}/api/v1/api-keys/{created.json()['api_key_id']}", headers=jwt, timeout=TIMEOUT
    )
    assert revoked.status_code == 204, revoked.text

    refused = requests.get(node_b + "/api/v1/usage/summary", headers=key, timeout=TIMEOUT)
    assert refused.status_code == 401, refused.text
    assert (
        requests.get(node_a + "/api/v1/usage/summary", headers=key, timeout=TIMEOUT).status_code
        == 401
    )


def _used(node, auth, period):
    summary = requests.get(
        node + "/api/v1/usage/summary", params={"period": period}, headers=auth, timeout=TIMEOUT
    )
    assert summary.status_code == 200, summary.text
    rows = {row["resource_type"]: Decimal(row["used"]) for row in summary.json()}
    check = requests.get(
        node + "/api/v1/entitlements/check",
        params={"resource": "api_calls"},
        headers=auth,
        timeout=TIMEOUT,
    )
    assert check.status_code == 200, check.text
    return rows.get("api_calls", Decimal(0)), Decimal(check.json()["used"])


def _committed(fn):
    """Run fn on a connection of its own (autocommit), outside the test's transaction: the servers'
    rows are committed, so putting things back must be too."""
    from django.db import connection

    result, thread = {}, None

    def run():
        try:
            result["value"] = fn()
        except Exception as exc:  # reported on the test's thread
            result["error"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    return result.get("value")


@pytest.fixture
def acme_usage_restored():
    """The servers commit acme's events, rollups and counters; later tests count acme's usage of the
    current period, so the rollups are put back as they were and the events removed after the test."""
    from django_tenants.utils import schema_context

    from tenants.models import Tenant
    from usage import counters
    from usage.models import UsageDailyRollup, UsageEvent, UsageEventKey, UsageRollup

    models = (UsageRollup, UsageDailyRollup)
    schema = _committed(lambda: Tenant.objects.get(slug="acme").schema_name)

    def snapshot():
        with schema_context(schema):
            return {m: {r["id"]: r for r in m.objects.values()} for m in models}

    before = _committed(snapshot)
    runs: list[str] = []
    yield runs

    def restore():
        with schema_context(schema):
            for run in runs:
                UsageEvent.objects.filter(transaction_id__startswith=f"nodes-{run}-").delete()
                UsageEventKey.objects.filter(key__startswith=f"t:nodes-{run}-").delete()
            for model in models:
                rows = before[model]
                model.objects.exclude(id__in=list(rows)).delete()
                for row in model.objects.filter(id__in=list(rows)).values():
                    if row != rows[row["id"]]:
                        model.objects.filter(id=row["id"]).update(**rows[row["id"]])
            for rollup in before[UsageRollup].values():
                counters.counter_forget(schema, rollup["resource_type"], rollup["period_start"])
            for rollup in UsageRollup.objects.values("resource_type", "period_start"):
                counters.counter_forget(schema, rollup["resource_type"], rollup["period_start"])

    _committed(restore)


def test_usage_counted_exactly_when_requests_alternate_between_nodes(
    two_nodes, acme_usage_restored
):
    nodes = list(two_nodes)
    auth = _login(nodes[0])
    moment = datetime.now(UTC).replace(microsecond=0)
    period = moment.strftime("%Y-%m")
    before = [_used(node, auth, period) for node in nodes]
    assert before[0] == before[1]

    events = 20
    run = uuid.uuid4().hex[:8]
    acme_usage_restored.append(run)
    for number in range(events):
        answer = requests.post(
            nodes[number % 2] + "/api/v1/usage",
            json={
                "resource_type": "api_calls",
                "quantity": "1",
                "period_start": moment.isoformat(),
                "transaction_id": f"nodes-{run}-{number}",
            },
            headers=auth,
            timeout=TIMEOUT,
        )
        assert answer.status_code == 201, answer.text
    # A retry of an event, on the other node, counts once.
    replay = requests.post(
        nodes[1] + "/api/v1/usage",
        json={
            "resource_type": "api_calls",
            "quantity": "1",
            "period_start": moment.isoformat(),
            "transaction_id": f"nodes-{run}-0",
        },
        headers=auth,
        timeout=TIMEOUT,
    )
    assert replay.status_code == 200, replay.text

    for node, (summary_before, counter_before) in zip(nodes, before, strict=True):
        summary_after, counter_after = _used(node, auth, period)
        assert summary_after - summary_before == events, node
        assert counter_after - counter_before == events, node
