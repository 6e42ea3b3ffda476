"""Wire protocol: auth, errors, idempotency, pagination, expand, search, metadata, faults."""

import json
import time
import urllib.error
import urllib.request

import pytest
import stripe

from stripe_emulator.encoding import parse_form

from .helpers import customer_with_card, no_retry_client, recurring_price


def raw(server, method, path, body=None, key="sk_test_emulator", headers=None):
    """Plain HTTP call returning (status, json, headers)."""
    req = urllib.request.Request(
        server.url + path,
        data=body.encode() if body else None,
        method=method,
        headers={"Authorization": f"Bearer {key}", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(req) as resp:
            return resp.status, json.loads(resp.read()), resp.headers
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read()), exc.headers


def test_parse_form_nested_keys_and_lists():
    parsed = parse_form(
        "items[0][price]=p1&items[0][quantity]=2&items[1][price]=p2&expand[]=a&expand[]=b.c"
        "&metadata[k]=&card[number]=4242"
    )
    assert parsed == {
        "items": [{"price": "p1", "quantity": "2"}, {"price": "p2"}],
        "expand": ["a", "b.c"],
        "metadata": {"k": ""},
        "card": {"number": "4242"},
    }


def test_bad_api_key_is_401_with_stripe_error(stripe_emulator_fresh):
    client = stripe.StripeClient(
        "sk_live_nope", base_addresses={"api": stripe_emulator_fresh.url}, max_network_retries=0
    )
    with pytest.raises(stripe.AuthenticationError) as exc:
        client.v1.customers.list()
    assert exc.value.http_status == 401
    assert exc.value.error.type == "invalid_request_error"
    status, body, _ = raw(stripe_emulator_fresh, "GET", "/v1/customers", key="")
    assert status == 401 and "API key" in body["error"]["message"]


def test_basic_auth_and_headers(stripe_emulator_fresh):
    import base64

    token = base64.b64encode(b"sk_test_abc:").decode()
    status, body, headers = raw(
        stripe_emulator_fresh,
        "GET",
        "/v1/customers",
        key=None,
        headers={"Authorization": f"Basic {token}", "Stripe-Version": "2026-05-27.dahlia"},
    )
    assert status == 200 and body["object"] == "list" and body["url"] == "/v1/customers"
    assert headers["Request-Id"].startswith("req_")


def test_missing_id_is_404(stripe_client, stripe_emulator_fresh):
    with pytest.raises(stripe.InvalidRequestError) as exc:
        stripe_client.v1.customers.retrieve("cus_missing")
    assert exc.value.http_status == 404
    assert exc.value.code == "resource_missing"
    assert exc.value.param == "id"
    assert exc.value.user_message == "No such customer: 'cus_missing'"


def test_missing_param_is_400(stripe_client, stripe_emulator_fresh):
    with pytest.raises(stripe.InvalidRequestError) as exc:
        stripe_client.v1.prices.create(params={"unit_amount": 100, "product_data": {"name": "x"}})
    assert exc.value.http_status == 400
    assert exc.value.code == "parameter_missing" and exc.value.param == "currency"


def test_declined_attach_is_402_card_error(stripe_client, stripe_emulator_fresh):
    customer = stripe_client.v1.customers.create()
    with pytest.raises(stripe.CardError) as exc:
        stripe_client.v1.payment_methods.attach(
            "pm_card_chargeDeclined", params={"customer": customer.id}
        )
    assert exc.value.http_status == 402
    assert exc.value.code == "card_declined"
    assert exc.value.error.decline_code == "generic_decline"
    assert stripe_client.v1.payment_methods.list(params={"customer": customer.id}).data == []


def test_idempotency_replay_and_conflict(stripe_client, stripe_emulator_fresh):
    options = {"idempotency_key": "key-1"}
    first = stripe_client.v1.customers.create(params={"email": "a@example.com"}, options=options)
    again = stripe_client.v1.customers.create(params={"email": "a@example.com"}, options=options)
    assert again.id == first.id
    assert again.last_response.headers["Idempotent-Replayed"] == "true"
    assert len(stripe_client.v1.customers.list().data) == 1
    with pytest.raises(stripe.IdempotencyError) as exc:
        stripe_client.v1.customers.create(params={"email": "b@example.com"}, options=options)
    assert exc.value.http_status == 400
    assert exc.value.error.type == "idempotency_error"


def test_pagination_newest_first(stripe_client, stripe_emulator_fresh):
    ids = [stripe_client.v1.customers.create(params={"name": f"c{i}"}).id for i in range(7)]
    newest_first = ids[::-1]
    page1 = stripe_client.v1.customers.list(params={"limit": 3})
    assert [c.id for c in page1.data] == newest_first[:3] and page1.has_more
    page2 = stripe_client.v1.customers.list(
        params={"limit": 3, "starting_after": page1.data[-1].id}
    )
    assert [c.id for c in page2.data] == newest_first[3:6] and page2.has_more
    page3 = stripe_client.v1.customers.list(
        params={"limit": 3, "starting_after": page2.data[-1].id}
    )
    assert [c.id for c in page3.data] == newest_first[6:] and not page3.has_more
    back = stripe_client.v1.customers.list(params={"limit": 2, "ending_before": page2.data[0].id})
    assert [c.id for c in back.data] == newest_first[1:3] and back.has_more
    assert [
        c.id for c in stripe_client.v1.customers.list(params={"limit": 100}).auto_paging_iter()
    ] == newest_first
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.customers.list(params={"limit": 101})


def test_expand_nested_and_on_lists(stripe_client, stripe_emulator_fresh):
    customer, _ = customer_with_card(stripe_client)
    price = recurring_price(stripe_client)
    sub = stripe_client.v1.subscriptions.create(
        params={
            "customer": customer.id,
            "items": [{"price": price.id}],
            "expand": ["latest_invoice.payments", "latest_invoice.confirmation_secret", "customer"],
        }
    )
    assert sub.customer.id == customer.id
    invoice = sub.latest_invoice
    assert invoice.status == "paid"
    payment = invoice.payments.data[0]
    assert (
        payment.object == "invoice_payment"
        and payment.status == "paid"
        and payment.amount_paid == 2000
    )
    plain = stripe_client.v1.invoices.retrieve(invoice.id)
    assert "payments" not in plain and "confirmation_secret" not in plain  # includable: expand only
    listed = stripe_client.v1.subscriptions.list(
        params={"expand": ["data.customer", "data.latest_invoice"]}
    )
    assert listed.data[0].customer.email == "buyer@example.com"
    assert listed.data[0].latest_invoice.id == invoice.id
    deep = stripe_client.v1.invoices.retrieve(
        invoice.id, params={"expand": ["payments.data.payment.payment_intent.latest_charge"]}
    )
    assert deep.payments.data[0].payment.payment_intent.latest_charge.paid is True


def test_search_by_email_and_metadata(stripe_client, stripe_emulator_fresh):
    a = stripe_client.v1.customers.create(
        params={"email": "ann@example.com", "metadata": {"tenant": "acme"}}
    )
    stripe_client.v1.customers.create(
        params={"email": "bob@example.com", "metadata": {"tenant": "globex"}}
    )
    found = stripe_client.v1.customers.search(params={"query": "email:'ann@example.com'"})
    assert found.object == "search_result" and [c.id for c in found.data] == [a.id]
    found = stripe_client.v1.customers.search(params={"query": "metadata['tenant']:'acme'"})
    assert [c.id for c in found.data] == [a.id]
    both = stripe_client.v1.customers.search(
        params={"query": "metadata['tenant']:'acme' OR email~'bob'"}
    )
    assert len(both.data) == 2


def test_metadata_set_update_unset(stripe_client, stripe_emulator_fresh):
    c = stripe_client.v1.customers.create(params={"metadata": {"a": "1", "b": "2"}})
    c = stripe_client.v1.customers.update(c.id, params={"metadata": {"a": "", "c": "3"}})
    assert c.metadata.to_dict() == {"b": "2", "c": "3"}
    event = stripe_client.v1.events.list(params={"type": "customer.updated"}).data[0]
    assert event.data.previous_attributes.metadata.to_dict() == {"a": "1", "c": None}
    c = stripe_client.v1.customers.update(c.id, params={"metadata": ""})
    assert c.metadata.to_dict() == {}


def test_fault_injection_500_then_success(stripe_emulator_fresh, stripe_client):
    client = no_retry_client(stripe_emulator_fresh)
    status, body, _ = raw(
        stripe_emulator_fresh,
        "POST",
        "/_emulator/faults",
        json.dumps({"path": "/v1/customers", "method": "POST", "status": 500, "count": 1}),
    )
    assert status == 200 and len(body["data"]) == 1
    with pytest.raises(stripe.APIError) as exc:
        client.v1.customers.create(params={"email": "x@example.com"})
    assert exc.value.http_status == 500 and exc.value.error.type == "api_error"
    assert client.v1.customers.create(params={"email": "x@example.com"}).email == "x@example.com"
    # With stripe-python's own retries (same Idempotency-Key) the fault is invisible to the caller.
    raw(
        stripe_emulator_fresh,
        "POST",
        "/_emulator/faults",
        json.dumps({"path": "/v1/customers", "status": 500}),
    )
    retrying = stripe.StripeClient(
        "sk_test_x", base_addresses={"api": stripe_emulator_fresh.url}, max_network_retries=2
    )
    assert retrying.v1.customers.create().object == "customer"


def test_fault_injection_429_and_delay(stripe_emulator_fresh):
    client = no_retry_client(stripe_emulator_fresh)
    raw(
        stripe_emulator_fresh,
        "POST",
        "/_emulator/faults",
        json.dumps({"path": "/v1/products*", "status": 429, "count": 1}),
    )
    with pytest.raises(stripe.RateLimitError) as exc:
        client.v1.products.list()
    assert exc.value.http_status == 429
    raw(
        stripe_emulator_fresh,
        "POST",
        "/_emulator/faults",
        json.dumps({"path": "/v1/products", "delay": 0.3}),
    )
    start = time.monotonic()
    client.v1.products.list()
    assert time.monotonic() - start >= 0.3


def test_control_api_health_and_settings(stripe_emulator_fresh):
    assert raw(stripe_emulator_fresh, "GET", "/_emulator/health")[1]["status"] == "ok"
    status, body, _ = raw(
        stripe_emulator_fresh,
        "POST",
        "/_emulator/settings",
        json.dumps({"automatic_retries": True}),
    )
    assert status == 200 and body["automatic_retries"] is True
    assert (
        raw(stripe_emulator_fresh, "POST", "/_emulator/settings", json.dumps({"nope": 1}))[0] == 400
    )
    raw(stripe_emulator_fresh, "POST", "/_emulator/reset")
    assert stripe_emulator_fresh.state.settings["automatic_retries"] is False


def test_global_stripe_module_resources(stripe_emulator_fresh, monkeypatch):
    monkeypatch.setattr(stripe, "api_key", "sk_test_global")
    monkeypatch.setattr(stripe, "api_base", stripe_emulator_fresh.url)
    customer = stripe.Customer.create(email="g@example.com")
    assert stripe.Customer.retrieve(customer.id).email == "g@example.com"
    stripe.Customer.modify(customer.id, name="Global")
    assert [c.id for c in stripe.Customer.list().data] == [customer.id]
    deleted = stripe.Customer.delete(customer.id)
    assert deleted.deleted is True
    assert stripe.Customer.retrieve(customer.id).deleted is True
    assert stripe.Account.retrieve().object == "account"


def test_unknown_route_is_404(stripe_emulator_fresh):
    status, body, _ = raw(stripe_emulator_fresh, "GET", "/v1/nothing_here")
    assert status == 404 and "Unrecognized request URL" in body["error"]["message"]


def test_events_filters_clocks_and_endpoints_crud(stripe_client, stripe_emulator_fresh):
    first = stripe_client.v1.customers.create()
    created = stripe_client.v1.events.list(params={"type": "customer.created"}).data[0]
    assert created.data.object.id == first.id and created["request"]["id"].startswith("req_")
    assert stripe_client.v1.events.retrieve(created.id).type == "customer.created"
    later = stripe_client.v1.events.list(params={"created": {"gt": created.created + 10}}).data
    assert later == []
    assert stripe_client.v1.events.list(params={"type": "customer.*"}).data[0].id == created.id

    clock = stripe_client.v1.test_helpers.test_clocks.create(
        params={"frozen_time": 1767225600, "name": "c"}
    )
    assert [c.id for c in stripe_client.v1.test_helpers.test_clocks.list().data] == [clock.id]
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.test_helpers.test_clocks.advance(
            clock.id, params={"frozen_time": 1767225500}
        )
    on_clock = stripe_client.v1.customers.create(params={"test_clock": clock.id})
    assert on_clock.created == 1767225600 and on_clock.test_clock == clock.id
    assert stripe_client.v1.test_helpers.test_clocks.delete(clock.id).deleted is True
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.test_helpers.test_clocks.retrieve(clock.id)

    endpoint = stripe_client.v1.webhook_endpoints.create(
        params={"url": "http://127.0.0.1:9/a", "enabled_events": ["charge.succeeded"]}
    )
    updated = stripe_client.v1.webhook_endpoints.update(
        endpoint.id,
        params={"enabled_events": ["*"], "disabled": True, "url": "http://127.0.0.1:9/b"},
    )
    assert (updated.enabled_events, updated.status, updated.url) == (
        ["*"],
        "disabled",
        "http://127.0.0.1:9/b",
    )
    assert [e.id for e in stripe_client.v1.webhook_endpoints.list().data] == [endpoint.id]
    stripe_client.v1.webhook_endpoints.delete(endpoint.id)
    assert stripe_client.v1.webhook_endpoints.list().data == []


@pytest.mark.parametrize("formula, expected", [("sum", 7.5), ("count", 3), ("last", 2.5)])
def test_meter_aggregations(stripe_client, stripe_emulator_fresh, formula, expected):
    customer = stripe_client.v1.customers.create()
    meter = stripe_client.v1.billing.meters.create(
        params={
            "display_name": formula,
            "event_name": f"ev_{formula}",
            "default_aggregation": {"formula": formula},
            "value_settings": {"event_payload_key": "tokens"},
        }
    )
    for i, value in enumerate(("1", "4", "2.5")):
        stripe_client.v1.billing.meter_events.create(
            params={
                "event_name": f"ev_{formula}",
                "timestamp": 1767225600 + i,
                "payload": {"stripe_customer_id": customer.id, "tokens": value},
            }
        )
    summary = stripe_client.v1.billing.meters.event_summaries.list(
        meter.id, params={"customer": customer.id, "start_time": 1767225600, "end_time": 1767225700}
    )
    assert summary.data[0].aggregated_value == expected
