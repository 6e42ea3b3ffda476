"""Prepaid credits end to end through the Stripe emulator and test clocks: credit bought or granted
lands on the Stripe customer's balance, Stripe applies it to the renewal before the card, the
wallet's ledger says which grant paid which invoice, expiry removes the rest once, auto top-up runs
once per invoice, and the low-balance notification goes out once."""

from datetime import timedelta

import pytest

from credits import services
from credits.models import CreditGrant, CreditLedgerEntry, CreditWallet
from subscriptions.selectors import tenant_now
from subscriptions.services import clocks
from tests.conftest import assert_error
from tests.subscriptions.conftest import subscribe

pytestmark = pytest.mark.django_db


def _customer(tenant):
    from subscriptions.models import BillingAccount

    return BillingAccount.objects.get(tenant=tenant).stripe_customer_id


def _charges(stripe_client, tenant) -> list[int]:
    customer = _customer(tenant)
    return sorted(
        c.amount
        for c in stripe_client.v1.charges.list(params={"limit": 100}).data
        if c.customer == customer and c.paid
    )


def _wait_for(sink, event_type: str, object_id: str) -> None:
    sink.wait_for(
        lambda events: any(
            e["type"] == event_type and e["data"]["object"]["id"] == object_id for e in events
        )
    )


def _renewal(hooks, tenant):
    hooks.deliver()
    clocks.test_clock_advance(tenant=tenant, days=32)
    hooks.deliver()


def _top_up(client, amount="100.00", **headers):
    response = client.post(
        "/api/v1/credits/top-ups", {"amount": amount, "currency": "usd"}, format="json", **headers
    )
    assert response.status_code == 201, response.content
    return response.json()


def test_paid_credit_pays_the_renewal_before_the_card(
    catalog, hooks, owner_client, tenant, stripe_client
):
    subscribe(owner_client, plan_id="starter", payment_method="pm_card_visa")
    grant = _top_up(owner_client, "100.00")
    assert (grant["amount"], grant["remaining"], grant["category"], grant["source"]) == (
        "100.00",
        "100.00",
        "paid",
        "top_up",
    )
    customer = stripe_client.v1.customers.retrieve(_customer(tenant))
    assert customer.balance == -10000  # the credit is Stripe's customer credit balance

    _renewal(hooks, tenant)

    renewal = stripe_client.v1.invoices.list(params={"customer": _customer(tenant)}).data[0]
    assert (renewal.total, renewal.amount_due, renewal.status) == (2900, 0, "paid")
    # The first invoice (29.00) and the top-up (100.00) were charged; the renewal was not.
    assert _charges(stripe_client, tenant) == [2900, 10000]
    body = owner_client.get("/api/v1/credits").json()
    assert body["balances"] == [
        {
            "currency": "usd",
            "balance": "71.00",
            "auto_top_up_below": None,
            "auto_top_up_amount": None,
            "low_balance_below": None,
        }
    ]
    assert [(g["remaining"], g["state"]) for g in body["grants"]] == [("71.00", "active")]
    ledger = owner_client.get("/api/v1/credits/ledger").json()
    assert [(e["kind"], e["amount"], e["balance_after"], e["invoice_id"]) for e in ledger] == [
        ("applied", "-29.00", "71.00", renewal.id),
        ("granted", "100.00", "100.00", None),
    ]
    # A re-delivered finalization applies nothing twice.
    services.credits_apply_invoice(tenant=tenant, invoice=dict(renewal))
    assert CreditWallet.objects.get(tenant=tenant).balance == 7100
    assert stripe_client.v1.customers.retrieve(_customer(tenant)).balance == -7100


def test_promotional_credit_is_used_first_and_its_expired_rest_removed_once(
    catalog,
    hooks,
    webhook_sink,
    owner_client,
    tenant,
    stripe_client,
    django_capture_on_commit_callbacks,
):
    subscribe(owner_client, plan_id="starter", payment_method="pm_card_visa")
    _top_up(owner_client, "100.00")
    now = tenant_now(tenant)
    with django_capture_on_commit_callbacks(execute=True):
        promo = services.credit_grant_create(
            tenant=tenant,
            amount=1000,
            currency="usd",
            category="promotional",
            reason="Launch week promotion",
            expires_at=now + timedelta(days=15),
            actor="finance@platform.test",
        )
    customer = _customer(tenant)
    assert stripe_client.v1.customers.retrieve(customer).balance == -11000

    # A one-off invoice of 4.00 mid-period takes the promotional credit, not the paid one.
    stripe_client.v1.invoice_items.create(
        params={"customer": customer, "amount": 400, "currency": "usd", "description": "Setup"}
    )
    one_off = stripe_client.v1.invoices.create(
        params={"customer": customer, "pending_invoice_items_behavior": "include"}
    )
    stripe_client.v1.invoices.finalize_invoice(one_off.id)
    _wait_for(webhook_sink, "invoice.finalized", one_off.id)
    hooks.deliver()
    promo.refresh_from_db()
    paid = CreditGrant.objects.get(tenant=tenant, category="paid")
    assert (promo.remaining, paid.remaining) == (600, 10000)

    clocks.test_clock_advance(tenant=tenant, days=16)
    assert services.credits_expire_due(tenant=tenant) == 1
    assert services.credits_expire_due(tenant=tenant) == 0  # exactly once
    promo.refresh_from_db()
    assert (promo.state, promo.remaining, promo.closed_amount) == ("expired", 0, 600)
    expired = CreditLedgerEntry.objects.filter(tenant=tenant, kind="expired")
    assert [(e.amount, e.balance_after) for e in expired] == [(-600, 10000)]
    assert stripe_client.v1.customers.retrieve(customer).balance == -10000

    clocks.test_clock_advance(tenant=tenant, days=16)  # the renewal: 29.00 from the paid credit
    hooks.deliver()
    assert CreditWallet.objects.get(tenant=tenant).balance == 7100
    assert stripe_client.v1.customers.retrieve(customer).balance == -7100


def test_auto_top_up_runs_once_per_invoice_and_low_balance_notifies_once(
    catalog, hooks, owner_client, tenant, stripe_client
):
    from django_tenants.utils import tenant_context

    from notifications.models import BillingEvent

    subscribe(owner_client, plan_id="starter", payment_method="pm_card_visa")
    _top_up(owner_client, "100.00")
    response = owner_client.put(
        "/api/v1/credits/settings",
        {
            "currency": "usd",
            "auto_top_up_below": "80.00",
            "auto_top_up_amount": "50.00",
            "low_balance_below": "75.00",
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["auto_top_up_amount"] == "50.00"

    _renewal(hooks, tenant)
    # 100.00 - 29.00 = 71.00 < 80.00: 50.00 bought once -> 121.00
    assert CreditWallet.objects.get(tenant=tenant).balance == 12100
    autos = CreditGrant.objects.filter(tenant=tenant, source="auto_top_up")
    assert [g.amount for g in autos] == [5000]
    assert _charges(stripe_client, tenant) == [2900, 5000, 10000]
    # The invoice's events once more (a replay): no second top-up, no second notification.
    renewal = stripe_client.v1.invoices.list(params={"customer": _customer(tenant)}).data[0]
    services.credits_apply_invoice(tenant=tenant, invoice=dict(renewal))
    services.credits_auto_top_up(tenant=tenant, invoice_id=renewal.id)
    assert CreditGrant.objects.filter(tenant=tenant, source="auto_top_up").count() == 1
    with tenant_context(tenant):
        low = BillingEvent.objects.filter(kind="credit_balance_low")
        assert [(e.data["amount"], e.data["currency"]) for e in low] == [(7100, "usd")]


def test_top_up_errors(catalog, owner_client, viewer_client, tenant, stripe_client):
    def post(client, body):
        return client.post("/api/v1/credits/top-ups", body, format="json")

    assert_error(
        post(owner_client, {"amount": "10.00", "currency": "usd"}), 400, "no_payment_method"
    )
    assert_error(post(owner_client, {"amount": 10.5, "currency": "usd"}), 400, "invalid_request")
    assert_error(post(owner_client, {"amount": "0", "currency": "usd"}), 400, "invalid_request")
    assert_error(post(owner_client, {"amount": "1.005", "currency": "usd"}), 400, "invalid_request")
    assert_error(post(owner_client, {"amount": "1", "currency": "USD"}), 400, "invalid_request")
    assert_error(
        post(owner_client, {"amount": "1", "currency": "usd", "x": 1}), 400, "invalid_request"
    )
    assert_error(
        post(viewer_client, {"amount": "10.00", "currency": "usd"}), 403, "permission_denied"
    )

    subscribe(owner_client, plan_id="starter", payment_method="pm_card_visa")
    assert_error(
        post(owner_client, {"amount": "10.00", "currency": "eur"}), 400, "currency_mismatch"
    )
    customer = _customer(tenant)
    pm = stripe_client.v1.payment_methods.attach(
        "pm_card_chargeCustomerFail", params={"customer": customer}
    )
    stripe_client.v1.customers.update(
        customer, params={"invoice_settings": {"default_payment_method": pm.id}}
    )
    assert_error(post(owner_client, {"amount": "10.00", "currency": "usd"}), 402, "card_declined")
    assert not CreditWallet.objects.filter(tenant=tenant, balance__gt=0).exists()
    assert not CreditGrant.objects.filter(tenant=tenant).exists()


def test_three_d_secure_top_up_is_granted_when_the_payment_succeeds(
    catalog, hooks, webhook_sink, owner_client, tenant, stripe_client
):
    subscribe(owner_client, plan_id="starter", payment_method="pm_card_visa")
    customer = _customer(tenant)
    pm = stripe_client.v1.payment_methods.attach(
        "pm_card_authenticationRequired", params={"customer": customer}
    )
    stripe_client.v1.customers.update(
        customer, params={"invoice_settings": {"default_payment_method": pm.id}}
    )
    response = owner_client.post(
        "/api/v1/credits/top-ups", {"amount": "20.00", "currency": "usd"}, format="json"
    )
    error = assert_error(response, 402, "authentication_required")
    intent_id = error["detail"]["payment_intent_id"]
    assert intent_id and error["detail"]["client_secret"]
    assert not CreditGrant.objects.filter(tenant=tenant).exists()

    # The customer completes 3-D Secure (Stripe.js confirms the intent); the webhook grants it.
    stripe_client.v1.payment_intents.confirm(intent_id)
    _wait_for(webhook_sink, "payment_intent.succeeded", intent_id)
    hooks.deliver()
    grant = CreditGrant.objects.get(tenant=tenant)
    assert (grant.amount, grant.payment_intent_id) == (2000, intent_id)
    assert stripe_client.v1.customers.retrieve(customer).balance == -2000


def test_credits_are_the_tenants_own(catalog, owner_client, client_for, other_owner, tenant):
    from tenants.models import Tenant

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(services, "_stripe_credit_post", lambda grant: None)
        services._grant_record(
            tenant=tenant,
            currency="usd",
            amount=500,
            category="promotional",
            source="staff",
            actor="finance@platform.test",
            reason="Goodwill",
        )
    other = client_for(other_owner)
    assert other.get("/api/v1/credits").json() == {"balances": [], "grants": []}
    assert other.get("/api/v1/credits/ledger").json() == []
    assert (
        owner_client.get("/api/v1/credits?currency=usd").json()["balances"][0]["balance"] == "5.00"
    )
    assert_error(owner_client.get("/api/v1/credits?currency=US"), 400, "invalid_request")
    assert Tenant.objects.filter(slug="globex").exists()
