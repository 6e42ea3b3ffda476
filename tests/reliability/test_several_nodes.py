"""Several nodes (issue 20): two gunicorn servers on two ports against the same PostgreSQL and Redis,
as two web nodes behind one load balancer. What one node changes the other acts on at the next
request: a revoked API key, usage counted on both; and a PDF a worker rendered into the shared
object storage (moto's S3 server here) is served by either node."""

import hashlib
import io
import os
import re
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pypdf
import pytest
import requests

from tests.concurrency import committed
from tests.conftest import DEMO_PASSWORD
from tests.invoicing import payloads
from tests.reliability.conftest import (
    celery_worker,
    gunicorn_server,
    portal_host,
)
from tests.s3 import s3_bucket, s3_endpoint  # noqa: F401 -- moto's S3 server, a bucket per test
from tests.usage_restore import usage_restored

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


@pytest.fixture
def acme_usage_restored():
    """The servers commit acme's events, rollups and counters: put back after the test."""
    with usage_restored("acme") as prefixes:
        yield prefixes


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
    acme_usage_restored.append(f"nodes-{run}-")
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


# --- a PDF rendered by a worker, served by either node ------------------------------------------------

RENDER_SECONDS = 120


@pytest.fixture
def acme_invoice():
    """An open invoice of acme's in the dj-stripe mirror, committed (the nodes and the worker read
    it; no Stripe needed: its lines are all there); removed after, with its document row."""
    from django_tenants.utils import schema_context
    from djstripe.models import Customer, Invoice

    from invoicing.models import InvoiceDocument
    from tenants.models import Tenant

    run = uuid.uuid4().hex[:8]
    invoice = SimpleNamespace(
        id=f"in_nodes_{run}", number=f"NODES-{run.upper()}", customer=f"cus_nodes_{run}"
    )

    def create():
        acme = Tenant.objects.get(slug="acme")
        customer = Customer.objects.create(
            id=invoice.customer,
            livemode=False,
            subscriber=acme,
            stripe_data={"id": invoice.customer, "object": "customer"},
        )
        data = payloads.invoice(
            lines=[payloads.line(12_000, "Pro plan")],
            number=invoice.number,
            invoice_id=invoice.id,
        )
        Invoice.objects.create(
            id=invoice.id,
            livemode=False,
            customer=customer,
            stripe_data={**data, "customer": invoice.customer},
        )
        return acme.schema_name

    invoice.schema = committed(create)
    yield invoice

    def remove():
        with schema_context(invoice.schema):
            InvoiceDocument.objects.filter(invoice_id=invoice.id).delete()
        Invoice.objects.filter(id=invoice.id).delete()
        Customer.objects.filter(id=invoice.customer).delete()

    committed(remove)


def _portal_login(node: str) -> requests.Session:
    """A portal session of acme's owner, signed in on `node` (sessions live in the shared database)."""
    session, host = requests.Session(), portal_host("acme", node)
    page = session.get(node + "/login/", headers=host, timeout=TIMEOUT)
    assert page.status_code == 200, page.text[:500]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token, page.text[:500]
    answer = session.post(
        node + "/login/",
        data={
            "email": "owner@acme.test",
            "password": DEMO_PASSWORD,
            "csrfmiddlewaretoken": token.group(1),
        },
        headers=host,
        timeout=TIMEOUT,
        allow_redirects=False,
    )
    assert answer.status_code == 302, answer.text[:500]
    return session


def _pdf_text(body: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(body)).pages)


def _files_under(*folders: Path) -> list[Path]:
    return [
        path
        for folder in folders
        if folder.exists()
        for path in folder.rglob("*")
        if path.is_file()
    ]


def test_a_pdf_rendered_by_a_worker_is_served_by_either_node(tmp_path, s3_bucket, acme_invoice):  # noqa: F811
    # Each process has a MEDIA_ROOT of its own, as separate machines would: were the PDF stored on
    # local disk, the worker's file would be missing on both web nodes.
    media = {name: tmp_path / f"media-{name}" for name in ("a", "b", "worker")}
    shared = {
        **s3_bucket.environment(),
        # The test process's broker is `memory://` (make test): the nodes and the worker meet on
        # Redis, on a queue of this test's own.
        "CELERY_BROKER_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15"),
        "CELERY_QUEUE": f"nodes-{uuid.uuid4().hex[:12]}",
        "CELERY_TASK_ALWAYS_EAGER": "0",
    }
    with (
        celery_worker(tmp_path, MEDIA_ROOT=str(media["worker"]), **shared) as (_, worker_log),
        gunicorn_server(tmp_path, workers=1, MEDIA_ROOT=str(media["a"]), **shared) as node_a,
        gunicorn_server(tmp_path, workers=1, MEDIA_ROOT=str(media["b"]), **shared) as node_b,
    ):
        api_path = f"/api/v1/invoices/{acme_invoice.id}/pdf"
        portal_path = f"/invoices/{acme_invoice.id}/pdf/"
        jwt = _login(node_a.url)

        # Node A is asked first: nothing rendered yet, so it queues the render for the worker.
        first = requests.get(node_a.url + api_path, headers=jwt, timeout=TIMEOUT)
        assert first.status_code == 404, first.text
        assert first.json()["error"]["code"] == "pdf_not_ready"

        # Node B serves what the worker stored, as soon as it is there.
        deadline = time.monotonic() + RENDER_SECONDS
        while True:
            from_b = requests.get(node_b.url + api_path, headers=jwt, timeout=TIMEOUT)
            if from_b.status_code != 404:
                break
            assert from_b.json()["error"]["code"] == "pdf_not_ready", from_b.text
            assert time.monotonic() < deadline, worker_log.read_text(errors="replace")[-3000:]
            time.sleep(0.5)
        from_a = requests.get(node_a.url + api_path, headers=jwt, timeout=TIMEOUT)
        portal = _portal_login(node_b.url)
        portal_answers = [
            portal.get(node + portal_path, headers=portal_host("acme", node), timeout=TIMEOUT)
            for node in (node_a.url, node_b.url)
        ]
        worker_text = worker_log.read_text(errors="replace")

    answers = [from_a, from_b, *portal_answers]
    for answer in answers:
        assert answer.status_code == 200, (answer.url, answer.text[:500], worker_text[-3000:])
        assert answer.headers["Content-Type"] == "application/pdf", answer.url
    body = from_a.content
    assert all(answer.content == body for answer in answers)
    assert body.startswith(b"%PDF") and acme_invoice.number in _pdf_text(body)
    assert {answer.headers["X-Checksum-SHA256"] for answer in answers} == {
        hashlib.sha256(body).hexdigest()
    }
    assert "invoice_render_pdf" in worker_text and "succeeded" in worker_text, worker_text[-3000:]

    # The object is in the bucket, and on no process's local disk.
    key = f"invoices/{acme_invoice.schema}/{acme_invoice.id}.pdf"
    assert s3_bucket.keys() == [key]
    assert s3_bucket.read(key) == body
    assert _files_under(*media.values()) == []
