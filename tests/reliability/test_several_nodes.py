"""Several nodes (issue 20): two gunicorn servers on two ports against the same PostgreSQL and Redis,
as two web nodes behind one load balancer. What one node changes the other acts on at the next
request: a revoked API key, usage counted on both."""

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


def test_usage_counted_exactly_when_requests_alternate_between_nodes(two_nodes):
    nodes = list(two_nodes)
    auth = _login(nodes[0])
    moment = datetime.now(UTC).replace(microsecond=0)
    period = moment.strftime("%Y-%m")
    before = [_used(node, auth, period) for node in nodes]
    assert before[0] == before[1]

    events = 20
    run = uuid.uuid4().hex[:8]
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
