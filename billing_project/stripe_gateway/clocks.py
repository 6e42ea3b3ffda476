"""Stripe test clocks (STRIPE_TEST_CLOCKS): a tenant's customer on a clock can be moved through time."""

from __future__ import annotations

import time

import stripe

from billing_project.stripe_gateway.client import get_client
from billing_project.stripe_gateway.errors import stripe_errors
from billing_project.stripe_gateway.keys import request_options


def test_clock_create(*, name: str, key: str) -> stripe.test_helpers.TestClock:
    with stripe_errors():
        return get_client().v1.test_helpers.test_clocks.create(
            params={"frozen_time": int(time.time()), "name": name[:300]},
            options=request_options(key),
        )


def test_clock_retrieve(clock_id: str) -> stripe.test_helpers.TestClock:
    with stripe_errors():
        return get_client().v1.test_helpers.test_clocks.retrieve(clock_id)


def test_clock_advance(
    *, clock_id: str, frozen_time: int, key: str
) -> stripe.test_helpers.TestClock:
    with stripe_errors():
        return get_client().v1.test_helpers.test_clocks.advance(
            clock_id, params={"frozen_time": frozen_time}, options=request_options(key)
        )
