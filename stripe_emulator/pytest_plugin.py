"""pytest fixtures for the Stripe emulator.

Load with ``pytest_plugins = ["stripe_emulator.pytest_plugin"]`` in the root conftest (or ``-p``).
Importing this module has no side effects; servers start only when a fixture is used.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from .server import EmulatorServer

__all__ = [
    "WebhookSink",
    "stripe_client",
    "stripe_emulator",
    "stripe_emulator_fresh",
    "webhook_sink",
]


class WebhookSink:
    """A local HTTP receiver recording every POST (for webhook tests).

    ``fail_next(n, status)`` makes the next ``n`` requests answer ``status`` to exercise retries.
    """

    def __init__(self, host="127.0.0.1"):
        self.requests = []
        self._failures = []
        self._cond = threading.Condition()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                with sink._cond:
                    status = sink._failures.pop(0) if sink._failures else 200
                    sink.requests.append(
                        {
                            "path": self.path,
                            "headers": dict(self.headers),
                            "body": body,
                            "status": status,
                            "time": time.time(),
                        }
                    )
                    sink._cond.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self._httpd = ThreadingHTTPServer((host, 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://{host}:{self._httpd.server_address[1]}/webhook"
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()

    def fail_next(self, count, status=500):
        """Answer the next ``count`` deliveries with ``status``."""
        with self._cond:
            self._failures.extend([status] * count)

    def events(self, accepted_only=True):
        """Parsed event bodies received (by default only those answered 2xx), in arrival order."""
        with self._cond:
            return [
                json.loads(r["body"])
                for r in self.requests
                if not accepted_only or r["status"] < 300
            ]

    def wait_for(self, predicate, timeout=10.0):
        """Wait until ``predicate(events)`` is truthy; returns the events (raises on timeout)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                events = [json.loads(r["body"]) for r in self.requests if r["status"] < 300]
                if predicate(events):
                    return events
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(
                        f"webhook sink: condition not met; got {[e['type'] for e in events]}"
                    )
                self._cond.wait(left)

    def stop(self):
        """Stop the receiver."""
        self._httpd.shutdown()
        self._httpd.server_close()


@pytest.fixture(scope="session")
def stripe_emulator():
    """One emulator for the session on a free port (fast webhook retries)."""
    server = EmulatorServer(
        port=0, webhook_retry_base=0.05, webhook_max_attempts=4, webhook_timeout=5.0
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture
def stripe_emulator_fresh(stripe_emulator):
    """The session emulator, reset to an empty state for this test."""
    stripe_emulator.reset()
    yield stripe_emulator
    stripe_emulator.reset()


@pytest.fixture
def stripe_client(stripe_emulator):
    """A stripe-python ``StripeClient`` pointed at the emulator for every API base."""
    import stripe

    url = stripe_emulator.url
    return stripe.StripeClient(
        stripe_emulator.api_key,
        base_addresses={"api": url, "files": url, "connect": url, "meter_events": url},
    )


@pytest.fixture
def webhook_sink(stripe_emulator):
    """A ``WebhookSink`` registered on the emulator for all events; ``sink.secret`` signs deliveries."""
    sink = WebhookSink()
    sink.secret = stripe_emulator.add_webhook_endpoint(sink.url, "whsec_test_sink")
    yield sink
    stripe_emulator.remove_webhook_endpoint(sink.url)
    sink.stop()
