"""Fixtures of the webhooks tests: a receiver (a local HTTP server) that verifies every delivery with
the `standardwebhooks` library, the outbound policy letting loopback through for it, and helpers to
run the delivery engine as a worker would."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tests.portal.conftest import (  # noqa: F401  (fixtures used here)
    admin_portal,
    owner_portal,
    portal_client_for,
    viewer_portal,
)
from tests.security.conftest import fake_dns  # noqa: F401
from tests.subscriptions.conftest import catalog, hooks, stripe_on  # noqa: F401


@pytest.fixture
def eager(settings):
    """Celery tasks run in the calling process, and are back to queued after the test (the state
    before is read before the settings change: Celery's config reads Django's settings)."""
    from billing_project.celery import app

    before = app.conf.task_always_eager, app.conf.task_eager_propagates
    settings.CELERY_TASK_ALWAYS_EAGER = True
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, False
    yield app
    app.conf.task_always_eager, app.conf.task_eager_propagates = before


class Receiver:
    """Answers with the next status of `statuses` (the last one repeats; default 200), after `delay`
    seconds; records every request with its headers, body and, per secret given to `verify_with`,
    whether the signature verified."""

    def __init__(self, keep_alive: bool = False):
        self.requests: list[dict] = []
        self.statuses: list[int] = []
        self.delay = 0.0
        self.location = ""  # sent with a 3xx answer
        self.secrets: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            # HTTP/1.1 with a length: the connection stays open for the next message.
            protocol_version = "HTTP/1.1" if keep_alive else "HTTP/1.0"

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                verified = {}
                for secret in receiver.secrets:
                    try:
                        Webhook(secret).verify(body, headers)
                        verified[secret] = True
                    except WebhookVerificationError:
                        verified[secret] = False
                index = len(receiver.requests)
                receiver.requests.append(
                    {
                        "path": self.path,
                        "headers": headers,
                        "body": body,
                        "json": json.loads(body),
                        "verified": verified,
                        "peer": self.client_address,
                    }
                )
                if receiver.delay:
                    time.sleep(receiver.delay)
                statuses = receiver.statuses or [200]
                status = statuses[min(index, len(statuses) - 1)]
                self.send_response(status)
                if receiver.location:
                    self.send_header("Location", receiver.location)
                answer = b"ok" if status < 300 else b"boom"
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/hooks"

    def verify_with(self, *secrets: str) -> None:
        self.secrets = list(secrets)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def loopback_allowed(settings):
    """The outbound policy as `make run` sets it: http allowed, loopback let through."""
    settings.OUTBOUND_ALLOW_HTTP = True
    settings.OUTBOUND_URL_ALLOWLIST = ["127.0.0.0/8"]
    settings.OUTBOUND_ALLOW_PRIVATE_HOSTS = ["127.0.0.0/8"]
    # Deliveries are sent on the test's own connection (threads would not see its transaction).
    settings.WEBHOOKS_ENDPOINT_CONCURRENCY = 1
    return settings


@pytest.fixture
def receiver(loopback_allowed):
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def endpoint_of(owner):
    """endpoint_of(tenant, url, events=["*"]) -> (endpoint, secret)."""
    from webhooks.services import endpoint_create

    def make(tenant, url, events=None):
        return endpoint_create(tenant=tenant, actor="test", url=url, enabled_events=events or ["*"])

    return make


@pytest.fixture
def flush():
    """flush(tenant, endpoint, now=None): what the worker's task does for one endpoint."""
    from webhooks.services import deliveries_flush

    def run(tenant, endpoint, now=None):
        return deliveries_flush(tenant=tenant, endpoint_pk=endpoint.pk, now=now)

    return run
