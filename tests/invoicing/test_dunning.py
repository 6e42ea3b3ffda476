"""Dunning owned by this service, moved through time with the tenant's Stripe test clock."""

import pytest
from django_tenants.utils import tenant_context

from tests.conftest import assert_error


def events(tenant, kind):
    from notifications.models import BillingEvent

    with tenant_context(tenant):
        return list(
            BillingEvent.objects.filter(kind=kind)
            .order_by("id")
            .values_list("dedup_key", flat=True)
        )


def state_of(tenant):
    from invoicing.models import InvoiceState

    with tenant_context(tenant):
        return InvoiceState.objects.exclude(dunning="none").get()


def run_due(tenant):
    from invoicing.services.payments import dunning_run_due

    with tenant_context(tenant):
        return dunning_run_due(tenant=tenant)


@pytest.fixture
def failing_renewal(billing, tenant):
    """acme's renewal charge failed (attempt 1) one month after subscribing with a good card."""
    billing.subscribe(tenant)
    account = billing.customer(tenant, card=None)
    billing.set_card(account.stripe_customer_id, "pm_card_chargeCustomerFail")
    billing.advance(tenant, days=31)
    return account


def test_decline_retries_on_schedule_then_a_new_card_recovers(
    failing_renewal, billing, tenant, stripe_client
):
    state = state_of(tenant)
    assert (
        state.status == "open"
        and state.dunning == "scheduled"
        and state.last_decline_code == "generic_decline"
    )
    assert (state.next_retry_at - state.first_failed_at).days == 1
    assert run_due(tenant) == 0  # not due yet

    billing.advance(tenant, days=1)
    assert run_due(tenant) == 1
    state = state_of(tenant)
    assert state.retries_done == 1 and (state.next_retry_at - state.first_failed_at).days == 3

    billing.advance(tenant, days=2)
    assert run_due(tenant) == 1
    assert (state_of(tenant).next_retry_at - state_of(tenant).first_failed_at).days == 5
    invoice_id = state.invoice_id
    assert events(tenant, "payment_failed") == [
        f"payment_failed:{invoice_id}:{n}" for n in (1, 2, 3)
    ]
    assert len(events(tenant, "payment_retry_scheduled")) == 3

    billing.set_card(
        failing_renewal.stripe_customer_id, "pm_card_visa"
    )  # customer.updated -> retry at once
    state = state_of(tenant)
    assert state.status == "paid" and state.dunning == "recovered" and state.next_retry_at is None
    assert stripe_client.v1.invoices.retrieve(invoice_id).status == "paid"
    sub = stripe_client.v1.subscriptions.list(
        params={"customer": failing_renewal.stripe_customer_id}
    ).data[0]
    assert sub.status == "active"
    assert f"payment_succeeded:{invoice_id}" in events(tenant, "payment_succeeded")
    from invoicing.models import PaymentAttempt

    with tenant_context(tenant):
        triggers = list(
            PaymentAttempt.objects.filter(invoice_id=invoice_id).values_list("trigger", "outcome")
        )
    assert triggers == [
        ("stripe", "failed"),
        ("schedule", "failed"),
        ("schedule", "failed"),
        ("new_card", "succeeded"),
    ]


@pytest.mark.parametrize(
    "end_state, subscription_status", [("canceled", "canceled"), ("unpaid", "past_due")]
)
def test_after_the_last_failed_retry_the_configured_end_state(
    failing_renewal, billing, tenant, stripe_client, end_state, subscription_status
):
    from policies.models import BillingPolicy

    BillingPolicy.objects.filter(pk=1).update(end_state=end_state)
    for days in (1, 2, 2, 2):  # retries on days 1, 3, 5, 7 after the first failure
        billing.advance(tenant, days=days)
        assert run_due(tenant) == 1
    state = state_of(tenant)
    assert state.dunning == "exhausted" and state.retries_done == 4 and state.end_state == end_state
    assert (
        len(events(tenant, "payment_failed")) == 5
        and len(events(tenant, "payment_retry_scheduled")) == 4
    )
    sub = stripe_client.v1.subscriptions.list(
        params={"customer": failing_renewal.stripe_customer_id, "status": "all"}
    ).data[0]
    assert sub.status == subscription_status
    billing.advance(tenant, days=3)
    assert run_due(tenant) == 0
    from tenants.models import AuditEvent

    assert AuditEvent.objects.filter(
        tenant=tenant, action=f"dunning.{end_state}", target=state.invoice_id
    ).exists()


def test_hard_decline_waits_for_a_new_card(billing, tenant, monkeypatch):
    # The emulator's failing card gives a generic decline; the webhook reads this one instead.
    monkeypatch.setattr(
        "invoicing.handlers.last_payment_error_of",
        lambda invoice: {"decline_code": "do_not_honor", "message": "Do not honor"},
    )
    billing.subscribe(tenant)
    account = billing.customer(tenant, card=None)
    billing.set_card(account.stripe_customer_id, "pm_card_chargeCustomerFail")
    billing.advance(tenant, days=31)
    state = state_of(tenant)
    assert state.dunning == "waiting_for_card" and state.next_retry_at is None
    billing.advance(tenant, days=3)
    assert run_due(tenant) == 0
    assert events(tenant, "payment_retry_scheduled") == []
    billing.set_card(account.stripe_customer_id, "pm_card_visa")
    assert state_of(tenant).dunning == "recovered"


def test_overdue_job_sets_billing_status_and_pay_now_clears_it(billing, tenant, owner_client):
    from invoicing.services.payments import invoices_mark_overdue

    account = billing.customer(tenant)
    stripe = billing.stripe
    stripe.v1.invoice_items.create(
        params={
            "customer": account.stripe_customer_id,
            "amount": 5000,
            "currency": "usd",
            "description": "Onboarding",
        }
    )
    draft = stripe.v1.invoices.create(
        params={
            "customer": account.stripe_customer_id,
            "collection_method": "send_invoice",
            "days_until_due": 5,
            "pending_invoice_items_behavior": "include",
        }
    )
    stripe.v1.invoices.finalize_invoice(draft.id)
    billing.dispatch()
    with tenant_context(tenant):
        assert invoices_mark_overdue(tenant=tenant) == 0
    assert owner_client.get("/api/v1/tenants/current").json()["billing_status"] == "ok"

    billing.advance(tenant, days=6)
    with tenant_context(tenant):
        assert invoices_mark_overdue(tenant=tenant) == 1
        assert invoices_mark_overdue(tenant=tenant) == 0  # once
    assert owner_client.get("/api/v1/tenants/current").json()["billing_status"] == "overdue"
    listed = owner_client.get("/api/v1/invoices?status=open").json()
    assert listed[0]["overdue"] is True and listed[0]["due_date"]
    assert events(tenant, "invoice_overdue") == [f"invoice_overdue:{draft.id}"]

    paid = owner_client.post(f"/api/v1/invoices/{draft.id}/pay", {}, format="json")
    assert paid.status_code == 200, paid.content
    assert paid.json()["status"] == "paid" and paid.json()["amount_remaining"] == "0.00"
    assert owner_client.get("/api/v1/tenants/current").json()["billing_status"] == "ok"
    assert_error(
        owner_client.post(f"/api/v1/invoices/{draft.id}/pay", {}, format="json"),
        409,
        "invoice_not_payable",
    )


def test_pay_now_with_a_declining_card_is_402_and_counts_as_an_attempt(
    failing_renewal, tenant, owner_client, viewer_client, client_for, other_owner
):
    invoice_id = state_of(tenant).invoice_id
    error = assert_error(
        owner_client.post(f"/api/v1/invoices/{invoice_id}/pay", {}, format="json"),
        402,
        "card_declined",
    )
    assert error["detail"]["decline_code"] == "generic_decline"
    assert len(events(tenant, "payment_failed")) == 2
    assert_error(
        viewer_client.post(f"/api/v1/invoices/{invoice_id}/pay", {}, format="json"),
        403,
        "permission_denied",
    )
    assert_error(
        client_for(other_owner).post(f"/api/v1/invoices/{invoice_id}/pay", {}, format="json"),
        404,
        "not_found",
    )
    assert_error(
        owner_client.post(
            f"/api/v1/invoices/{invoice_id}/pay", {"payment_method_id": "pm_nope"}, format="json"
        ),
        404,
        "not_found",
    )
