"""Small builders shared by the emulator tests."""

import time

import stripe

DAY = 86400
T0 = 1767225600  # 2026-01-01T00:00:00Z


def wait_ready(client, clock_id, timeout=15.0):
    """Poll a test clock until it is ready again."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        clock = client.v1.test_helpers.test_clocks.retrieve(clock_id)
        if clock.status == "ready":
            return clock
        time.sleep(0.02)
    raise TimeoutError(f"test clock {clock_id} still {clock.status}")


def advance(client, clock_id, frozen_time):
    """Advance a clock and wait until the emulator reports it ready."""
    client.v1.test_helpers.test_clocks.advance(clock_id, params={"frozen_time": frozen_time})
    return wait_ready(client, clock_id)


def recurring_price(client, amount=2000, currency="usd", interval="month", name="Pro", **extra):
    """A product plus a recurring price."""
    product = client.v1.products.create(params={"name": name})
    return client.v1.prices.create(
        params={
            "product": product.id,
            "unit_amount": amount,
            "currency": currency,
            "recurring": {"interval": interval},
            **extra,
        }
    )


def customer_with_card(client, card="pm_card_visa", clock=None, **params):
    """A customer (optionally on a clock) with ``card`` attached and set as invoice default."""
    if clock:
        params["test_clock"] = clock
    customer = client.v1.customers.create(params={"email": "buyer@example.com", **params})
    pm = client.v1.payment_methods.attach(card, params={"customer": customer.id})
    client.v1.customers.update(
        customer.id, params={"invoice_settings": {"default_payment_method": pm.id}}
    )
    return customer, pm


def no_retry_client(server):
    """A client without stripe-python's own network retries (to observe injected faults)."""
    return stripe.StripeClient(
        server.api_key, base_addresses={"api": server.url}, max_network_retries=0
    )
