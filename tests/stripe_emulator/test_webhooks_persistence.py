"""Webhook delivery (signatures, retries, filtering, log) and state persistence."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import stripe

from stripe_emulator import EmulatorServer
from stripe_emulator.pytest_plugin import WebhookSink

from .helpers import customer_with_card, recurring_price

REPO = Path(__file__).resolve().parents[2]


def _deliveries(server):
    with urllib.request.urlopen(server.url + "/_emulator/deliveries") as response:
        return json.loads(response.read())["data"]


def test_signed_delivery_and_retry_with_backoff(stripe_client, stripe_emulator_fresh, webhook_sink):
    webhook_sink.fail_next(2, status=500)
    customer = stripe_client.v1.customers.create(params={"email": "hook@example.com"})
    events = webhook_sink.wait_for(lambda evs: any(e["type"] == "customer.created" for e in evs))
    request = next(r for r in webhook_sink.requests if r["status"] == 200)
    event = stripe.Webhook.construct_event(
        request["body"], request["headers"]["Stripe-Signature"], webhook_sink.secret
    )
    assert event.type == "customer.created" and event.data.object.id == customer.id
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(
            request["body"], request["headers"]["Stripe-Signature"], "whsec_wrong"
        )
    stripe_emulator_fresh.wait_for_webhooks()  # the log entry is written after the sink answered
    log = [d for d in _deliveries(stripe_emulator_fresh) if d["event"] == events[0]["id"]]
    assert [(d["attempt"], d["status"]) for d in log] == [(1, 500), (2, 500), (3, 200)]
    # Exponential backoff: retry_base (0.05 s in the plugin) doubling per attempt.
    delays = [round(d["next_retry_at"] - d["time"], 2) for d in log[:2]]
    assert delays == [0.05, 0.1] and log[2]["next_retry_at"] is None
    assert all(b["time"] >= a["next_retry_at"] for a, b in zip(log, log[1:], strict=False))


def test_retries_stop_after_max_attempts_and_connection_errors(stripe_emulator_fresh):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead_port = probe.getsockname()[1]
    stripe_emulator_fresh.add_webhook_endpoint(f"http://127.0.0.1:{dead_port}/gone", "whsec_x")
    client = stripe.StripeClient("sk_test_x", base_addresses={"api": stripe_emulator_fresh.url})
    client.v1.products.create(params={"name": "Nobody listens"})
    stripe_emulator_fresh.wait_for_webhooks()
    log = _deliveries(stripe_emulator_fresh)
    assert [d["attempt"] for d in log] == [1, 2, 3, 4]  # webhook_max_attempts=4 in the plugin
    assert all(d["status"] is None and d["error"] for d in log)


def test_enabled_events_filter_and_order(stripe_client, stripe_emulator_fresh):
    sink = WebhookSink()
    try:
        endpoint = stripe_client.v1.webhook_endpoints.create(
            params={"url": sink.url, "enabled_events": ["customer.created", "invoice.*"]}
        )
        customer, _ = customer_with_card(stripe_client)
        stripe_client.v1.invoice_items.create(
            params={"customer": customer.id, "amount": 100, "currency": "usd"}
        )
        invoice = stripe_client.v1.invoices.create(
            params={"customer": customer.id, "pending_invoice_items_behavior": "include"}
        )
        stripe_client.v1.invoices.pay(invoice.id)
        events = sink.wait_for(lambda evs: "invoice.payment_succeeded" in [e["type"] for e in evs])
        types = [e["type"] for e in events]
        assert types[0] == "customer.created" and "customer.updated" not in types
        assert all(t == "customer.created" or t.startswith("invoice.") for t in types)
        assert (
            types.index("invoice.created")
            < types.index("invoice.finalized")
            < types.index("invoice.paid")
        )
        for request in sink.requests:
            stripe.Webhook.construct_event(
                request["body"], request["headers"]["Stripe-Signature"], endpoint.secret
            )
        stripe_client.v1.webhook_endpoints.delete(endpoint.id)
    finally:
        sink.stop()


def test_state_file_persistence(tmp_path):
    path = tmp_path / "state.json"
    first = EmulatorServer(port=0, state_file=str(path), save_interval=0.05).start()
    client = stripe.StripeClient("sk_test_x", base_addresses={"api": first.url})
    customer, _ = customer_with_card(client)
    price = recurring_price(client, amount=1200, lookup_key="persist")
    sub = client.v1.subscriptions.create(
        params={"customer": customer.id, "items": [{"price": price.id}]},
        options={"idempotency_key": "sub-1"},
    )
    deadline = time.monotonic() + 5
    while not (
        path.exists() and sub.id in path.read_text()
    ):  # saved by the debounced saver, no stop()
        assert time.monotonic() < deadline, "state file not written"
        time.sleep(0.02)
    first.stop()

    second = EmulatorServer(port=0, state_file=str(path)).start()
    try:
        client = stripe.StripeClient("sk_test_x", base_addresses={"api": second.url})
        reloaded = client.v1.subscriptions.retrieve(sub.id, params={"expand": ["latest_invoice"]})
        assert reloaded.status == "active" and reloaded.latest_invoice.amount_paid == 1200
        assert client.v1.prices.list(params={"lookup_keys": ["persist"]}).data[0].id == price.id
        replay = client.v1.subscriptions.create(
            params={"customer": customer.id, "items": [{"price": price.id}]},
            options={"idempotency_key": "sub-1"},
        )
        assert replay.id == sub.id
    finally:
        second.stop()


def test_command_line_registers_webhook_idempotently(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sink = WebhookSink()
    state = tmp_path / "cli.json"
    args = [
        sys.executable,
        "-m",
        "stripe_emulator",
        "--port",
        str(port),
        "--state-file",
        str(state),
        "--webhook-url",
        sink.url,
        "--webhook-secret",
        "whsec_cli_secret",
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    try:
        for _ in range(2):  # a restart with the same URL must not add a second endpoint
            proc = subprocess.Popen(
                args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            try:
                client = stripe.StripeClient(
                    "sk_test_x",
                    base_addresses={"api": f"http://127.0.0.1:{port}"},
                    max_network_retries=0,
                )
                deadline = time.monotonic() + 10
                while True:
                    try:
                        endpoints = client.v1.webhook_endpoints.list().data
                        break
                    except stripe.APIConnectionError:
                        if time.monotonic() > deadline:
                            raise
                        time.sleep(0.05)
                assert [e.url for e in endpoints] == [sink.url] and endpoints[0].enabled_events == [
                    "*"
                ]
                client.v1.customers.create(params={"name": "cli"})
                sink.wait_for(lambda evs: any(e["type"] == "customer.created" for e in evs))
                request = sink.requests[-1]
                stripe.Webhook.construct_event(
                    request["body"], request["headers"]["Stripe-Signature"], "whsec_cli_secret"
                )
            finally:
                proc.terminate()
                proc.wait(timeout=10)
    finally:
        sink.stop()
