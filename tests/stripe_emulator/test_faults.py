"""Fault injection of the emulator: errors instead of the work, hangs, and "apply then fail"."""

import json

import pytest
import requests
import stripe

from tests.stripe_emulator.helpers import no_retry_client


def control(server, method, path, payload=None):
    response = requests.request(
        method, f"{server.url}/_emulator{path}", data=json.dumps(payload or {}), timeout=5
    )
    return response.status_code, response.json()


def test_error_faults_answer_stripe_error_objects_without_doing_the_work(stripe_emulator_fresh):
    client = no_retry_client(stripe_emulator_fresh)
    for status, error_class, error_type in [
        (500, stripe.APIError, "api_error"),
        (503, stripe.APIError, "api_error"),
        (429, stripe.RateLimitError, "invalid_request_error"),
        (409, stripe.APIError, "invalid_request_error"),
    ]:
        before = len(stripe_emulator_fresh.state.all("customer"))
        stripe_emulator_fresh.inject_fault("/v1/customers", method="POST", status=status)
        with pytest.raises(error_class) as exc:
            client.v1.customers.create(
                params={"email": "x@example.com"}, options={"idempotency_key": f"k{status}"}
            )
        assert exc.value.http_status == status and exc.value.error.type == error_type
        assert len(stripe_emulator_fresh.state.all("customer")) == before  # nothing happened
        # Nothing was stored under the key: the retry does the work.
        client.v1.customers.create(
            params={"email": "x@example.com"}, options={"idempotency_key": f"k{status}"}
        )
    assert len(stripe_emulator_fresh.state.all("customer")) == 4
    assert [f["fired"] for f in stripe_emulator_fresh.faults()] == [1, 1, 1, 1]


def test_fault_matches_method_and_path_pattern_and_count(stripe_emulator_fresh):
    client = no_retry_client(stripe_emulator_fresh)
    fault = stripe_emulator_fresh.inject_fault("/v1/products*", method="GET", status=500, count=2)
    client.v1.products.create(params={"name": "p"})  # POST: not matched
    for _ in range(2):
        with pytest.raises(stripe.APIError):
            client.v1.products.list()
    assert client.v1.products.list().data  # the third passes
    assert fault["fired"] == 2 and fault["count"] == 0


def test_apply_then_fail_takes_effect_and_the_same_key_replays_it(stripe_emulator_fresh):
    client = no_retry_client(stripe_emulator_fresh)
    stripe_emulator_fresh.inject_fault("/v1/customers", method="POST", status=500, after=True)
    with pytest.raises(stripe.APIError):
        client.v1.customers.create(
            params={"email": "a@example.com"}, options={"idempotency_key": "once"}
        )
    [stored] = stripe_emulator_fresh.state.all("customer")  # done, though the caller saw a 500
    again = client.v1.customers.create(
        params={"email": "a@example.com"}, options={"idempotency_key": "once"}
    )
    assert again.id == stored["id"]
    assert len(stripe_emulator_fresh.state.all("customer")) == 1
    # Without the key the work is done twice: what the mode exists to catch.
    stripe_emulator_fresh.inject_fault("/v1/customers", method="POST", status=500, after=True)
    with pytest.raises(stripe.APIError):
        client.v1.customers.create(params={"email": "b@example.com"})
    client.v1.customers.create(params={"email": "b@example.com"})
    assert len(stripe_emulator_fresh.state.all("customer")) == 3


def test_hang_past_the_client_timeout(stripe_emulator_fresh):
    timeouting = stripe.StripeClient(
        stripe_emulator_fresh.api_key,
        base_addresses={"api": stripe_emulator_fresh.url},
        max_network_retries=0,
        http_client=stripe.RequestsClient(timeout=0.2),
    )
    # Hang, then fail: the request never takes effect.
    stripe_emulator_fresh.inject_fault("/v1/customers", method="POST", delay=1.0, status=500)
    with pytest.raises(stripe.APIConnectionError):
        timeouting.v1.customers.create(
            params={"email": "h@example.com"}, options={"idempotency_key": "h1"}
        )
    assert stripe_emulator_fresh.wait_requests_done(10)
    assert stripe_emulator_fresh.state.all("customer") == []
    # Apply, then hang: done after the client gave up; its retry with the key gets the same object.
    stripe_emulator_fresh.inject_fault("/v1/customers", method="POST", delay=1.0, after=True)
    with pytest.raises(stripe.APIConnectionError):
        timeouting.v1.customers.create(
            params={"email": "h@example.com"}, options={"idempotency_key": "h2"}
        )
    assert stripe_emulator_fresh.wait_requests_done(10)
    [stored] = stripe_emulator_fresh.state.all("customer")
    assert (
        timeouting.v1.customers.create(
            params={"email": "h@example.com"}, options={"idempotency_key": "h2"}
        ).id
        == stored["id"]
    )


def test_stripe_python_retries_hide_apply_then_fail(stripe_emulator_fresh):
    """stripe-python retries a 500 with the Idempotency-Key it generated: one object, no error."""
    retrying = stripe.StripeClient(
        stripe_emulator_fresh.api_key,
        base_addresses={"api": stripe_emulator_fresh.url},
        max_network_retries=2,
    )
    fault = stripe_emulator_fresh.inject_fault(
        "/v1/customers", method="POST", status=500, after=True, count=2
    )
    customer = retrying.v1.customers.create(params={"email": "r@example.com"})
    assert fault["fired"] == 2
    assert [c["id"] for c in stripe_emulator_fresh.state.all("customer")] == [customer.id]


def test_control_api_validates_lists_and_clears_faults(stripe_emulator_fresh):
    assert control(stripe_emulator_fresh, "POST", "/faults", {"path": "/v1/customers"})[0] == 400
    assert (
        control(stripe_emulator_fresh, "POST", "/faults", {"path": "/v1/x", "status": 200})[0]
        == 400
    )
    assert (
        control(
            stripe_emulator_fresh, "POST", "/faults", {"path": "/v1/x", "status": 500, "nope": 1}
        )[0]
        == 400
    )
    status, body = control(
        stripe_emulator_fresh,
        "POST",
        "/faults",
        {"path": "/v1/customers", "method": "POST", "status": 502, "after": True, "count": 1},
    )
    assert status == 200 and body["data"][0]["after"] is True
    client = no_retry_client(stripe_emulator_fresh)
    with pytest.raises(stripe.APIError):
        client.v1.customers.create()
    assert control(stripe_emulator_fresh, "GET", "/faults")[1]["data"] == []  # spent
    assert control(stripe_emulator_fresh, "GET", "/faults?all=1")[1]["data"][0]["fired"] == 1
    control(
        stripe_emulator_fresh,
        "POST",
        "/faults",
        {"path": "/v1/customers", "status": 500, "count": 5},
    )
    assert control(stripe_emulator_fresh, "DELETE", "/faults")[1]["data"] == []
    client.v1.customers.create()
    stripe_emulator_fresh.inject_fault("/v1/customers", status=500)
    stripe_emulator_fresh.reset()
    assert stripe_emulator_fresh.faults() == []


def test_request_log_counts_api_calls_not_control_calls(stripe_emulator_fresh):
    client = no_retry_client(stripe_emulator_fresh)
    customer = client.v1.customers.create(params={"email": "c@example.com"})
    client.v1.customers.retrieve(customer.id)
    control(stripe_emulator_fresh, "GET", "/health")
    assert stripe_emulator_fresh.requests() == [
        {"method": "POST", "path": "/v1/customers"},
        {"method": "GET", "path": f"/v1/customers/{customer.id}"},
    ]
    status, body = control(stripe_emulator_fresh, "GET", "/requests")
    assert status == 200 and len(body["data"]) == 2
    status, body = control(stripe_emulator_fresh, "DELETE", "/requests")
    assert body["data"] == [] and stripe_emulator_fresh.requests() == []
    client.v1.customers.list()
    stripe_emulator_fresh.reset()
    assert stripe_emulator_fresh.requests() == []
