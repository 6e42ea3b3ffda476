"""Fixtures of the notifications tests: eager Celery, a local Slack sink, billing events emitted
and delivered as after a real commit."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@pytest.fixture
def eager(settings):
    """Celery tasks run in the calling process (tenant-schemas-celery still switches the schema).
    As on a worker, a task's retry is not an error of the caller (the test sends the retry itself)."""
    from billing_project.celery import app

    settings.CELERY_TASK_ALWAYS_EAGER = True
    before = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, False
    yield app
    app.conf.task_always_eager, app.conf.task_eager_propagates = before


class SlackSink:
    """A stand-in for Slack's incoming webhooks: records the JSON of every accepted post; answers
    500 to the first `fail_first` requests (or to all, with fail_first=-1)."""

    def __init__(self):
        self.received: list[dict] = []
        self.requests = 0
        self.fail_first = 0
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                sink.requests += 1
                if sink.fail_first == -1 or sink.requests <= sink.fail_first:
                    self.send_response(500)
                    self.end_headers()
                    self.wfile.write(b"internal_error")
                    return
                assert self.headers["Content-Type"] == "application/json"
                sink.received.append({"path": self.path, "json": json.loads(body)})
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "/services/T000/B000/tenant") -> str:
        return f"http://127.0.0.1:{self.server.server_port}{path}"

    def posts_to(self, path: str) -> list[dict]:
        return [entry["json"] for entry in self.received if entry["path"] == path]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def slack(settings):
    sink = SlackSink()
    # The outbound URL policy refuses loopback and plain http: let through this sink's port only.
    settings.OUTBOUND_ALLOW_HTTP = True
    settings.OUTBOUND_ALLOW_PRIVATE_HOSTS = [f"127.0.0.1:{sink.server.server_port}"]
    yield sink
    sink.close()


@pytest.fixture
def tenant_slack(tenant, slack):
    """acme's Slack webhook points at the sink."""
    from notifications.services import preference_update

    preference_update(tenant=tenant, actor="test", slack_webhook_url=slack.url())
    return slack


@pytest.fixture
def platform_slack(slack):
    from notifications.services import platform_slack_update

    platform_slack_update(
        actor="test",
        webhook_url=slack.url("/services/T000/B000/platform"),
        kinds=["payment_failed", "invoice_overdue"],
    )
    return slack


@pytest.fixture
def emit(eager, django_capture_on_commit_callbacks):
    """emit(tenant, kind, object_id, dedup_key=None, data=None) -> the event, delivered as after a commit."""
    from notifications.events import billing_event_emit

    def run(tenant, kind, object_id, dedup_key=None, data=None):
        with django_capture_on_commit_callbacks(execute=True):
            return billing_event_emit(
                tenant=tenant, kind=kind, object_id=object_id, dedup_key=dedup_key, data=data
            )

    return run


PAYMENT_FAILED = {
    "amount": 123450,
    "currency": "usd",
    "invoice_number": "ACME-0042",
    "attempt": 1,
    "next_attempt": "2026-12-04T10:00:00Z",
    "hosted_invoice_url": "https://pay.example/in_42",
}
