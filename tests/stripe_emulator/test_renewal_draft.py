"""A renewal invoice stays a draft until the webhook endpoints answered `invoice.created`: an
endpoint can add an invoice item to it (Stripe's documented way to add charges to a renewal), and
the item is finalized and charged with the renewal."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .helpers import DAY, T0, advance, customer_with_card, recurring_price


class _Endpoint:
    """Answers every delivery 200; on a renewal's `invoice.created` it first adds a line."""

    def __init__(self, client):
        self.seen = []
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                event = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                invoice = event["data"]["object"]
                if (
                    event["type"] == "invoice.created"
                    and invoice["billing_reason"] == "subscription_cycle"
                ):
                    fresh = client.v1.invoices.retrieve(invoice["id"])
                    endpoint.seen.append(fresh.status)
                    client.v1.invoice_items.create(
                        params={
                            "customer": invoice["customer"],
                            "invoice": invoice["id"],
                            "amount": 5900,
                            "currency": "usd",
                            "description": "Minimum commitment true-up",
                            "discountable": False,
                            "metadata": {"purpose": "true_up"},
                        }
                    )
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"


def test_an_item_added_on_invoice_created_is_on_the_finalized_renewal(
    stripe_client, stripe_emulator_fresh
):
    client = stripe_client
    endpoint = _Endpoint(client)
    stripe_emulator_fresh.add_webhook_endpoint(endpoint.url, "whsec_renewal_draft")
    try:
        clock = client.v1.test_helpers.test_clocks.create(params={"frozen_time": T0})
        customer, _ = customer_with_card(client, clock=clock.id)
        price = recurring_price(client, amount=2900)
        client.v1.subscriptions.create(
            params={"customer": customer.id, "items": [{"price": price.id}]}
        )

        advance(client, clock.id, T0 + 32 * DAY)
    finally:
        stripe_emulator_fresh.remove_webhook_endpoint(endpoint.url)
        endpoint.server.shutdown()

    assert endpoint.seen == ["draft"]
    renewal = client.v1.invoices.list(params={"customer": customer.id}).data[0]
    lines = client.v1.invoices.line_items.list(renewal.id).data
    true_up = next(line for line in lines if line.description == "Minimum commitment true-up")
    assert (true_up.amount, true_up.discountable, true_up.metadata["purpose"]) == (
        5900,
        False,
        "true_up",
    )
    assert (renewal.status, renewal.total, renewal.amount_paid) == ("paid", 2900 + 5900, 8800)
