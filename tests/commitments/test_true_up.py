"""Minimum commitments end to end through the Stripe emulator and a test clock: the renewal of a
period whose plan and usage charges fell short of the commitment carries one "Minimum commitment
true-up" line for the difference, exactly once, whatever redelivers the renewal's events."""

import pytest

from commitments import services
from commitments.models import CommitmentTrueUp
from subscriptions.models import BillingAccount
from tests.subscriptions.conftest import subscribe

from .conftest import advance, use

pytestmark = pytest.mark.django_db

TRUE_UP = "Minimum commitment true-up"


def _renewal(stripe_client, tenant):
    account = BillingAccount.objects.get(tenant=tenant)
    invoices = stripe_client.v1.invoices.list(params={"subscription": account.subscription_id}).data
    renewal = invoices[0]
    assert renewal.billing_reason == "subscription_cycle"
    lines = stripe_client.v1.invoices.line_items.list(renewal.id).data
    return renewal, lines


def _commit(tenant, amount):
    services.subscription_terms_set(
        tenant=tenant, minimum_commitment=amount, usage_threshold=None, actor="finance@test"
    )


def test_a_short_period_gets_one_true_up_line_for_the_difference(
    relay, owner_client, tenant, stripe_client
):
    subscribe(owner_client, plan_id="starter", payment_method="pm_card_visa")  # 29.00
    relay.pump()
    _commit(tenant, 10000)  # 100.00 a month
    use(tenant, 16000)  # 6,000 above the 10,000 included at 2.00 / 1,000: 12.00

    advance(relay, tenant, 32)

    renewal, lines = _renewal(stripe_client, tenant)
    true_ups = [ln for ln in lines if ln.description == TRUE_UP]
    assert [(ln.amount, ln.discountable) for ln in true_ups] == [(5900, False)]
    # 12.00 usage of the closed period + 29.00 for the next one + 59.00 true-up
    assert sorted(ln.amount for ln in lines) == [1200, 2900, 5900]
    assert (renewal.status, renewal.total, renewal.amount_paid) == ("paid", 10000, 10000)
    record = CommitmentTrueUp.objects.get(tenant=tenant)
    assert (record.committed, record.spent, record.amount, record.invoice_id) == (
        10000,
        4100,
        5900,
        renewal.id,
    )

    # The invoice PDF shows the line, labelled in the invoice's language.
    from django.template.loader import render_to_string

    from invoicing.documents import TEMPLATE, invoice_context
    from invoicing.selectors import invoice_view

    view = invoice_view(dict(stripe_client.v1.invoices.retrieve(renewal.id)), with_lines=True)
    html = render_to_string(TEMPLATE, invoice_context(invoice=view, tenant=tenant))
    assert "Minimum commitment true-up" in html and "$59.00" in html and "$100.00" in html
    tenant.locale = "pt-br"
    html = render_to_string(TEMPLATE, invoice_context(invoice=view, tenant=tenant))
    assert "Ajuste do compromisso mínimo" in html and "59,00" in html

    # The renewal's invoice.created again (a replay, a redelivery): nothing added twice.
    from subscriptions.services.webhooks import webhook_handle

    [created] = [
        e for e in relay.events("invoice.created") if e["data"]["object"]["id"] == renewal.id
    ]
    webhook_handle(payload=created)
    services.commitment_true_up(
        tenant=tenant, invoice=dict(stripe_client.v1.invoices.retrieve(renewal.id))
    )
    _, again = _renewal(stripe_client, tenant)
    assert [ln.amount for ln in again if ln.description == TRUE_UP] == [5900]
    assert CommitmentTrueUp.objects.filter(tenant=tenant).count() == 1


def test_no_true_up_when_the_period_spent_the_commitment(
    relay, owner_client, tenant, stripe_client
):
    subscribe(owner_client, plan_id="starter", payment_method="pm_card_visa")
    relay.pump()
    _commit(tenant, 4100)  # exactly 29.00 + 12.00
    use(tenant, 16000)

    advance(relay, tenant, 32)

    renewal, lines = _renewal(stripe_client, tenant)
    assert [ln.description for ln in lines if ln.description == TRUE_UP] == []
    assert (renewal.status, renewal.total) == ("paid", 1200 + 2900)
    assert not CommitmentTrueUp.objects.filter(tenant=tenant).exists()


def test_the_commitment_counts_charges_after_discounts(relay, owner_client, tenant, stripe_client):
    from coupons.services import coupon_create

    coupon_create(code="TWENTY", name="Twenty", percent_off=20, duration="forever")
    held = owner_client.post("/api/v1/coupons/apply", {"code": "TWENTY"}, format="json")
    assert held.status_code == 200, held.content
    subscribe(owner_client, plan_id="starter", payment_method="pm_card_visa")  # 29.00 - 20%
    relay.pump()
    _commit(tenant, 10000)
    use(tenant, 16000)  # 12.00 - 20%

    advance(relay, tenant, 32)

    renewal, lines = _renewal(stripe_client, tenant)
    # Spent 23.20 + 9.60 = 32.80: the true-up is 67.20, itself not discounted.
    assert [ln.amount for ln in lines if ln.description == TRUE_UP] == [6720]
    assert (renewal.status, renewal.total) == ("paid", 10000)
    assert CommitmentTrueUp.objects.get(tenant=tenant).spent == 3280
