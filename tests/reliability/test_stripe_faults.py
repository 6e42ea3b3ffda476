"""Stripe faults (issue 14): the emulator answers 500 / 409 / 429, hangs past the client's timeout,
or does the work and then loses the answer ("apply then fail"), during each money path of the
product: subscribe, upgrade with proration, pay now, a dunning retry (task), a refund, usage meter
events (task).

Whatever the fault, the API answers JSON (503 `payment_provider_unavailable` with Retry-After, or
success when stripe-python's own network retries absorb it), never a 500 or an HTML page; a retry of
the same client request (same Idempotency-Key) then succeeds, and Stripe (the emulator's state) holds
exactly one subscription / one successful charge / one refund / the usage once.
"""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

pytestmark = pytest.mark.django_db

HANG = 1.0  # seconds the emulator hangs; the product's Stripe timeout is set far below it
CLIENT_TIMEOUT = 0.25

# More faults than stripe-python's 2 network retries, so the product's own handling is what shows;
# "500_once" is absorbed by those retries (same Idempotency-Key), so the API succeeds at once.
FAULTS = {
    "500_once": dict(status=500, count=1),
    "500": dict(status=500, count=3),
    "503": dict(status=503, count=3),
    "429": dict(status=429, count=1),  # stripe-python never retries a 429: one is enough to show
    "409_lock_timeout": dict(status=409, count=3),
    "hang": dict(delay=HANG, status=500, count=3),  # every attempt times out; nothing is done
    "apply_then_500": dict(status=500, after=True, count=3),  # done, every answer lost
    "apply_then_hang": dict(delay=HANG, after=True, count=3),  # done, the client timed out
}
ABSORBED = {"500_once"}

_keys = itertools.count(1)


def new_key(name: str) -> str:
    return f"reliability-{name}-{next(_keys)}"


@pytest.fixture
def emulator(stripe_settings, settings, tmp_path):
    """The session's emulator, empty, with the product's Stripe timeout far below a hang."""
    from billing_project.celery import app

    stripe_settings.reset()
    settings.STRIPE_TEST_CLOCKS = False
    settings.STRIPE_TIMEOUT_SECONDS = CLIENT_TIMEOUT
    settings.MEDIA_ROOT = tmp_path / "media"
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield stripe_settings
    app.conf.task_always_eager = eager
    stripe_settings.wait_requests_done(15)
    stripe_settings.reset()


@pytest.fixture
def catalog(emulator):
    from policies.selectors import policy_get
    from subscriptions.models import Plan
    from subscriptions.services.catalog import plan_sync_all_to_stripe

    policy_get()
    plan_sync_all_to_stripe()
    return {plan.code: plan for plan in Plan.objects.all()}


def inject(emulator, fault: str, *, path: str, method: str = "POST"):
    return emulator.inject_fault(path, method=method, **FAULTS[fault])


def call(client, method: str, path: str, body: dict | None, key: str):
    return getattr(client, method)(path, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def assert_json_not_500(response):
    assert response.status_code < 500 or response.status_code == 503, response.content[:500]
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    assert b"<html" not in response.content.lower()


def assert_unavailable_or(response, fault: str, ok: int):
    """503 payment_provider_unavailable with Retry-After, or `ok` when the client's retries hid it."""
    assert_json_not_500(response)
    if fault in ABSORBED:
        assert response.status_code == ok, response.content
        return
    assert response.status_code == 503, response.content
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == "payment_provider_unavailable", body
    assert int(response["Retry-After"]) >= 1


def settled(emulator, kind: str) -> list[dict]:
    """The emulator's objects of a kind, once every hung request has finished."""
    assert emulator.wait_requests_done(15)
    return emulator.state.all(kind)


def charges(emulator, customer_id: str, status: str = "succeeded") -> list[dict]:
    return [
        c
        for c in settled(emulator, "charge")
        if c["customer"] == customer_id and c["status"] == status
    ]


def customer_of(tenant) -> str:
    from subscriptions.models import BillingAccount

    return BillingAccount.objects.get(tenant=tenant).stripe_customer_id


def set_card(stripe_client, customer_id: str, card: str = "pm_card_visa"):
    pm = stripe_client.v1.payment_methods.attach(card, params={"customer": customer_id})
    stripe_client.v1.customers.update(
        customer_id, params={"invoice_settings": {"default_payment_method": pm.id}}
    )


def subscribed(client, card: str = "pm_card_visa", plan: str = "starter") -> dict:
    response = client.post(
        "/api/v1/subscriptions", {"plan_id": plan, "payment_method": card}, format="json"
    )
    assert response.status_code == 201, response.content
    return response.json()


# --- subscribe ------------------------------------------------------------------------------------


@pytest.mark.parametrize("fault", FAULTS)
def test_subscribe(fault, emulator, catalog, owner_client, tenant):
    key, body = new_key("subscribe"), {"plan_id": "starter", "payment_method": "pm_card_visa"}
    hit = inject(emulator, fault, path="/v1/subscriptions")
    assert_unavailable_or(
        call(owner_client, "post", "/api/v1/subscriptions", body, key), fault, 201
    )
    again = call(owner_client, "post", "/api/v1/subscriptions", body, key)
    assert again.status_code == 201, again.content
    [subscription] = settled(emulator, "subscription")
    assert (
        again.json()["subscription_id"] == subscription["id"] and again.json()["status"] == "active"
    )
    assert len(charges(emulator, customer_of(tenant))) == 1
    assert (
        owner_client.get("/api/v1/subscriptions/current").json()["subscription_id"]
        == subscription["id"]
    )
    assert hit["fired"] == FAULTS[fault]["count"]


@pytest.mark.parametrize("fault", ["apply_then_500", "apply_then_hang"])
def test_subscribe_retried_without_idempotency_key_subscribes_once(
    fault, emulator, catalog, owner_client, tenant
):
    """A client that sends no Idempotency-Key and simply tries again after the 503."""
    body = {"plan_id": "starter", "payment_method": "pm_card_visa"}
    inject(emulator, fault, path="/v1/subscriptions")
    assert_unavailable_or(
        owner_client.post("/api/v1/subscriptions", body, format="json"), fault, 201
    )
    assert emulator.wait_requests_done(15)
    again = owner_client.post("/api/v1/subscriptions", body, format="json")
    assert again.status_code == 201, again.content
    [subscription] = settled(emulator, "subscription")
    assert again.json()["subscription_id"] == subscription["id"]
    assert len(charges(emulator, customer_of(tenant))) == 1


def test_another_plan_after_a_lost_subscribe_answer_is_409_and_records_the_first(
    emulator, catalog, owner_client
):
    inject(emulator, "apply_then_500", path="/v1/subscriptions")
    lost = owner_client.post(
        "/api/v1/subscriptions",
        {"plan_id": "starter", "payment_method": "pm_card_visa"},
        format="json",
    )
    assert_unavailable_or(lost, "apply_then_500", 201)
    other = owner_client.post("/api/v1/subscriptions", {"plan_id": "professional"}, format="json")
    assert other.status_code == 409 and other.json()["error"]["code"] == "subscription_exists"
    [subscription] = settled(emulator, "subscription")
    current = owner_client.get("/api/v1/subscriptions/current").json()
    assert current["subscription_id"] == subscription["id"] and current["plan_id"] == "starter"


# --- upgrade with proration -----------------------------------------------------------------------


@pytest.mark.parametrize("fault", FAULTS)
def test_upgrade_with_proration(fault, emulator, catalog, owner_client, tenant, stripe_client):
    first = subscribed(owner_client)
    key, body = new_key("upgrade"), {"plan_id": "professional"}
    hit = inject(emulator, fault, path="/v1/subscriptions/sub_*")
    assert_unavailable_or(
        call(owner_client, "put", "/api/v1/subscriptions/current", body, key), fault, 200
    )
    again = call(owner_client, "put", "/api/v1/subscriptions/current", body, key)
    assert again.status_code == 200, again.content
    assert again.json()["plan_id"] == "professional"
    [subscription] = settled(emulator, "subscription")
    items = stripe_client.v1.subscriptions.retrieve(subscription["id"])["items"].data
    prices = sorted(item.price.id for item in items)
    assert prices == sorted(
        [catalog["professional"].stripe_price_id, catalog["professional"].stripe_overage_price_id]
    )
    # One invoice for the start, one for the proration: paid once each.
    customer = customer_of(tenant)
    invoices = [i for i in settled(emulator, "invoice") if i["customer"] == customer]
    assert len(invoices) == 2 and {i["status"] for i in invoices} == {"paid"}
    assert len(charges(emulator, customer)) == 2
    assert first["subscription_id"] == subscription["id"]
    assert hit["fired"] == FAULTS[fault]["count"]


# --- pay now --------------------------------------------------------------------------------------


def open_invoice(client, tenant, stripe_client) -> str:
    """A subscription whose first charge failed (its invoice stays open), then a working card."""
    from invoicing.services.common import mirror_invoice

    body = subscribed(client, card="pm_card_chargeCustomerFail")
    assert body["status"] == "incomplete"
    set_card(stripe_client, customer_of(tenant))
    mirror_invoice(body["latest_invoice_id"])
    return body["latest_invoice_id"]


@pytest.mark.parametrize("fault", FAULTS)
def test_pay_now(fault, emulator, catalog, owner_client, tenant, stripe_client):
    invoice_id = open_invoice(owner_client, tenant, stripe_client)
    key = new_key("pay")
    hit = inject(emulator, fault, path="/v1/invoices/*/pay")
    path = f"/api/v1/invoices/{invoice_id}/pay"
    assert_unavailable_or(call(owner_client, "post", path, {}, key), fault, 200)
    again = call(owner_client, "post", path, {}, key)
    assert again.status_code == 200, again.content
    assert again.json()["status"] == "paid"
    assert len(charges(emulator, customer_of(tenant))) == 1
    assert emulator.state.find(invoice_id)["status"] == "paid"
    assert hit["fired"] == FAULTS[fault]["count"]


# --- a dunning retry (task) -----------------------------------------------------------------------


@pytest.mark.parametrize("fault", FAULTS)
def test_dunning_retry_task(fault, emulator, catalog, owner_client, tenant, stripe_client):
    from billing_project.stripe_gateway import invoices as stripe_invoices
    from invoicing.models import InvoiceState
    from invoicing.services.payments import invoice_state_sync
    from invoicing.tasks import dunning_run_due_for_tenant
    from subscriptions.selectors import tenant_now

    invoice_id = open_invoice(owner_client, tenant, stripe_client)
    with tenant_context(tenant):
        state = invoice_state_sync(tenant=tenant, data=stripe_invoices.invoice_retrieve(invoice_id))
        state.dunning, state.next_retry_at = (
            InvoiceState.Dunning.SCHEDULED,
            tenant_now(tenant) - timedelta(hours=1),
        )
        state.save()
        hit = inject(emulator, fault, path="/v1/invoices/*/pay")
        try:
            dunning_run_due_for_tenant()
        except Exception as exc:  # a failed run is fine; a lost retry is not
            assert fault not in ABSORBED, exc
        # The next run (beat: hourly) retries what the outage left unpaid.
        dunning_run_due_for_tenant()
        state.refresh_from_db()
    assert emulator.state.find(invoice_id)["status"] == "paid"
    assert len(charges(emulator, customer_of(tenant))) == 1
    assert state.status == "paid" and state.dunning == InvoiceState.Dunning.RECOVERED
    assert hit["fired"] == FAULTS[fault]["count"]


# --- refund ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("fault", FAULTS)
def test_refund(fault, emulator, catalog, owner_client, tenant, client_for, finance_staff):
    from invoicing.services.common import mirror_invoice

    body = subscribed(owner_client)
    mirror_invoice(body["latest_invoice_id"])
    finance = client_for(finance_staff, HTTP_X_TENANT_ID="acme")
    key, request = new_key("refund"), {"amount": "5.00", "reason": "outage credit"}
    hit = inject(emulator, fault, path="/v1/credit_notes")
    path = f"/api/v1/invoices/{body['latest_invoice_id']}/refunds"
    assert_unavailable_or(call(finance, "post", path, request, key), fault, 201)
    again = call(finance, "post", path, request, key)
    assert again.status_code == 201, again.content
    [refund] = settled(emulator, "refund")
    assert refund["amount"] == 500 and again.json()["status"] == "succeeded"
    assert len(settled(emulator, "credit_note")) == 1
    assert hit["fired"] == FAULTS[fault]["count"]


# --- usage meter events (task) --------------------------------------------------------------------


@pytest.mark.parametrize("fault", FAULTS)
def test_usage_meter_events(fault, emulator, catalog, owner_client, tenant):
    from usage.tasks import usage_meter_push

    subscribed(owner_client)
    now = timezone.now().isoformat()
    sent = owner_client.post(
        "/api/v1/usage",
        {
            "resource_type": "api_calls",
            "quantity": "1234",
            "unit": "requests",
            "period_start": now,
            "period_end": now,
            "source": "reliability",
        },
        format="json",
    )
    assert sent.status_code == 201, sent.content
    hit = inject(emulator, fault, path="/v1/billing/meter_events")
    with tenant_context(tenant):
        usage_meter_push()  # a failure is recorded on the push row, not raised
        usage_meter_push()  # the next beat run
    assert emulator.wait_requests_done(15)
    events = [
        e
        for e in emulator.state.meter_events
        if e["payload"]["stripe_customer_id"] == customer_of(tenant)
    ]
    assert sum(float(e["payload"]["value"]) for e in events) == 1234
    assert len({e["identifier"] for e in events}) == len(events)
    assert hit["fired"] == FAULTS[fault]["count"]


# --- the whole of Stripe down ---------------------------------------------------------------------


@pytest.mark.parametrize("fault", ["500", "hang"])
def test_every_stripe_call_failing_is_a_json_503(
    fault, emulator, catalog, owner_client, tenant, client_for, finance_staff
):
    """Reads and writes alike, while every Stripe path fails: 503 JSON or a non-Stripe answer, no 500."""
    body = subscribed(owner_client)
    emulator.inject_fault("/v1/*", **{**FAULTS[fault], "count": 10_000})
    finance = client_for(finance_staff, HTTP_X_TENANT_ID="acme")
    requests = [
        (
            owner_client,
            "post",
            "/api/v1/subscriptions/current/preview",
            {"plan_id": "professional"},
        ),
        (owner_client, "put", "/api/v1/subscriptions/current", {"plan_id": "professional"}),
        (owner_client, "put", "/api/v1/subscriptions/current", {"cancel_at_period_end": True}),
        (owner_client, "post", f"/api/v1/invoices/{body['latest_invoice_id']}/pay", {}),
        (owner_client, "post", "/api/v1/payment-methods", {"token": "pm_card_visa"}),
        (owner_client, "get", "/api/v1/payment-methods", None),
        (owner_client, "post", "/api/v1/payment-methods/setup-intent", {}),
        (owner_client, "delete", "/api/v1/subscriptions/current", None),
        (finance, "post", f"/api/v1/invoices/{body['latest_invoice_id']}/refunds", {"reason": "x"}),
        (
            finance,
            "post",
            "/api/v1/adjustments",
            {"amount": "1.00", "currency": "usd", "description": "x"},
        ),
    ]
    for client, method, path, data in requests:
        response = call(client, method, path, data, new_key("down"))
        assert_json_not_500(response)
        assert response.status_code in (200, 201, 204, 404, 409, 503), (path, response.content)
    emulator.clear_faults()
