"""Fixtures of the commitments tests: the subscriptions tests' Stripe emulator (reset per test,
catalog synced, test clocks on), and a webhook relay whose deliveries the test's own thread posts to
the app while the emulator waits for the answer, as Stripe waits for the answer to a renewal's
`invoice.created` before it finalizes the draft."""

import json
import queue
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.subscriptions.conftest import (  # noqa: F401 -- fixtures shared with these tests
    catalog,
    finance_admin,
    pytest_configure,
    stripe_on,
)
from tests.usage.conftest import _usage_caches_clean  # noqa: F401 -- autouse: clean counters

DAY = 86400


class Relay:
    """An emulator webhook endpoint: each delivery waits until `pump` (in the test's thread, so in
    the test's database transaction) posted it to POST /api/v1/webhooks/stripe, and answers with
    the app's status."""

    def __init__(self, client):
        self.client, self.inbox, self.posted = client, queue.Queue(), []
        relay = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                item = {
                    "body": self.rfile.read(int(self.headers["Content-Length"])).decode(),
                    "signature": self.headers["Stripe-Signature"],
                    "done": threading.Event(),
                    "status": 500,
                }
                relay.inbox.put(item)
                item["done"].wait(60)
                self.send_response(item["status"])
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/stripe"

    def post(self, body: str, signature: str) -> int:
        response = self.client.generic(
            "POST",
            "/api/v1/webhooks/stripe",
            body,
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=signature,
        )
        return response.status_code

    def pump(self, until=lambda: True, quiet: float = 0.3, timeout: float = 60.0) -> None:
        """Post deliveries as they come until `until()` holds and none came for `quiet` seconds."""
        deadline, last = time.monotonic() + timeout, time.monotonic()
        while time.monotonic() < deadline:
            try:
                item = self.inbox.get(timeout=0.05)
            except queue.Empty:
                if time.monotonic() - last > quiet and until():
                    return
                continue
            item["status"] = self.post(item["body"], item["signature"])
            self.posted.append(json.loads(item["body"]))
            item["done"].set()
            last = time.monotonic()
        raise TimeoutError("webhook relay: the condition never held")

    def events(self, event_type: str) -> list[dict]:
        return [e for e in self.posted if e["type"] == event_type]


@pytest.fixture
def relay(catalog, stripe_emulator, settings, api_client):  # noqa: F811
    hub = Relay(api_client)
    settings.STRIPE_WEBHOOK_SECRET = stripe_emulator.add_webhook_endpoint(hub.url, "whsec_relay")
    yield hub
    stripe_emulator.remove_webhook_endpoint(hub.url)
    while not hub.inbox.empty():  # answer what is left, so the emulator's worker moves on
        hub.inbox.get()["done"].set()
    hub.server.shutdown()


def advance(relay, tenant, days: int) -> None:
    """Move the tenant's test clock, relaying the webhooks while the emulator simulates."""
    from billing_project.stripe_gateway import clocks as stripe_clocks
    from subscriptions.models import BillingAccount

    account = BillingAccount.objects.get(tenant=tenant)
    clock = stripe_clocks.test_clock_retrieve(account.test_clock_id)
    target = int(clock.frozen_time) + days * DAY
    stripe_clocks.test_clock_advance(
        clock_id=account.test_clock_id, frozen_time=target, key=f"advance:{target}"
    )
    relay.pump(
        until=lambda: stripe_clocks.test_clock_retrieve(account.test_clock_id).status == "ready"
    )


def use(tenant, quantity: int) -> None:
    """Ingest api_calls and push them to Stripe's meter at once (the periodic push's work)."""
    from tests.usage.conftest import event
    from usage.services import usage_event_ingest, usage_meter_push

    usage_event_ingest(tenant=tenant, data=event(quantity=str(quantity)))
    usage_meter_push(tenant=tenant)
