"""Every payment that can need the customer answers 402 `authentication_required` with what a
client needs to let them confirm it (API.md): the first invoice of a subscription, an upgrade's
proration, pay-now and a dunning retry (which waits for the customer instead of counting a decline).
"""

import pytest

from tests.conftest import assert_error

pytestmark = pytest.mark.django_db

SCA_CARD = "pm_card_authenticationRequired"


def _assert_authentication_required(response, stripe_client):
    error = assert_error(response, 402, "authentication_required")
    detail = error["detail"]
    assert set(detail) == {"payment_intent_id", "client_secret", "invoice_id", "hosted_invoice_url"}
    intent = stripe_client.v1.payment_intents.retrieve(detail["payment_intent_id"])
    assert intent.status == "requires_action" and intent.client_secret == detail["client_secret"]
    invoice = stripe_client.v1.invoices.retrieve(detail["invoice_id"])
    assert invoice.status == "open" and invoice.hosted_invoice_url == detail["hosted_invoice_url"]
    return detail


def _authenticate(stripe_emulator, detail, action="complete"):
    """What the customer does on the bank's page (the emulator's 3-D Secure page)."""
    import requests

    response = requests.post(
        f"{stripe_emulator.url}/_emulator/3ds/{detail['payment_intent_id']}",
        data={"action": action},
        timeout=10,
    )
    assert response.status_code == 200


def test_subscribing_with_a_card_that_needs_3d_secure_is_402_then_active_once_confirmed(
    catalog, owner_client, stripe_client, stripe_emulator, tenant, billing
):
    response = owner_client.post(
        "/api/v1/subscriptions",
        {"plan_id": "starter", "payment_method": SCA_CARD},
        format="json",
    )
    detail = _assert_authentication_required(response, stripe_client)
    current = owner_client.get("/api/v1/subscriptions/current").json()
    assert (
        current["status"] == "incomplete" and current["latest_invoice_id"] == detail["invoice_id"]
    )

    _authenticate(stripe_emulator, detail)
    billing.dispatch()
    from subscriptions.services.sync import tenant_resync

    tenant_resync(tenant=tenant)
    assert owner_client.get("/api/v1/subscriptions/current").json()["status"] == "active"
    assert stripe_client.v1.invoices.retrieve(detail["invoice_id"]).status == "paid"


def test_an_upgrade_whose_proration_needs_3d_secure_is_402(
    catalog, owner_client, stripe_client, tenant, billing
):
    from subscriptions.services.subscriptions import subscription_create

    # Authenticated once on setup, then off-session payments pass: the first invoice is paid.
    subscription_create(tenant=tenant, plan_id="starter", payment_method="pm_card_visa")
    account = billing.customer(tenant, card=SCA_CARD)
    assert account.stripe_customer_id
    response = owner_client.put(
        "/api/v1/subscriptions/current", {"plan_id": "professional"}, format="json"
    )
    detail = _assert_authentication_required(response, stripe_client)
    # The change itself is made (Stripe moved the price); only its payment waits.
    current = owner_client.get("/api/v1/subscriptions/current").json()
    assert (
        current["plan_id"] == "professional"
        and current["latest_invoice_id"] == detail["invoice_id"]
    )


def test_pay_now_of_an_invoice_needing_3d_secure_is_402_and_no_decline(
    catalog, owner_client, stripe_client, tenant, billing
):
    from invoicing.models import InvoiceState, PaymentAttempt

    billing.subscribe(tenant, card="pm_card_chargeCustomerFail")  # the first charge is declined
    invoice = billing.invoices(billing.customer(tenant, card=None).stripe_customer_id)[0]
    assert invoice.status == "open"
    billing.set_card(billing.customer(tenant, card=None).stripe_customer_id, SCA_CARD)
    response = owner_client.post(f"/api/v1/invoices/{invoice.id}/pay", {}, format="json")
    detail = _assert_authentication_required(response, stripe_client)
    assert detail["invoice_id"] == invoice.id
    from django_tenants.utils import tenant_context

    with tenant_context(tenant):
        state = InvoiceState.objects.get(invoice_id=invoice.id)
        assert state.dunning == InvoiceState.Dunning.ACTION_REQUIRED
        last = PaymentAttempt.objects.filter(invoice_id=invoice.id).order_by("attempt").last()
        assert last.outcome == PaymentAttempt.Outcome.ACTION_REQUIRED


def test_a_dunning_retry_needing_3d_secure_waits_for_the_customer_and_reminds_them(
    catalog, stripe_client, tenant, billing
):
    from django_tenants.utils import tenant_context

    from invoicing.models import InvoiceState, PaymentAttempt
    from invoicing.services.payments import dunning_run_due
    from notifications.models import BillingEvent
    from policies.selectors import policy_get

    # A renewal is declined (attempt 1): dunning schedules a retry.
    billing.subscribe(tenant)
    customer_id = billing.customer(tenant, card=None).stripe_customer_id
    billing.set_card(customer_id, "pm_card_chargeCustomerFail")
    billing.advance(tenant, days=31)
    with tenant_context(tenant):
        state = InvoiceState.objects.get(dunning=InvoiceState.Dunning.SCHEDULED)
    # The customer's bank now asks for 3-D Secure (set without the new-card retry).
    billing.set_card(customer_id, SCA_CARD, dispatch=False)
    billing.seen.update(e.id for e in stripe_client.v1.events.list(params={"limit": 100}).data)
    retry_days = policy_get().retry_days
    billing.advance(tenant, days=retry_days[0])
    with tenant_context(tenant):
        dunning_run_due(tenant=tenant)
    billing.dispatch()
    with tenant_context(tenant):
        state.refresh_from_db()
        assert state.dunning == InvoiceState.Dunning.ACTION_REQUIRED
        attempts = PaymentAttempt.objects.filter(invoice_id=state.invoice_id).order_by("attempt")
        assert [a.outcome for a in attempts] == ["failed", "action_required"]
        notices = BillingEvent.objects.filter(
            kind="payment_action_required", object_id=state.invoice_id
        )
        assert notices.count() == 1
        assert state.next_retry_at is not None  # the next reminder, not a retry
    billing.advance(tenant, days=retry_days[1] - retry_days[0])
    with tenant_context(tenant):
        dunning_run_due(tenant=tenant)
        assert notices.count() == 2  # a reminder
        assert PaymentAttempt.objects.filter(invoice_id=state.invoice_id).count() == 2  # no charge
