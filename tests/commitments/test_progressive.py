"""Progressive billing end to end through the Stripe emulator and a test clock: usage charges that
reach the threshold are invoiced and paid mid-period, once per crossing; the renewal bills only
what was not billed yet; a declined threshold invoice goes to dunning like any other."""

import pytest
from django_tenants.utils import tenant_context

from commitments import services
from commitments.models import ThresholdInvoice
from subscriptions.models import BillingAccount
from tests.subscriptions.conftest import subscribe

from .conftest import advance, use

pytestmark = pytest.mark.django_db


def _threshold(tenant, amount):
    services.subscription_terms_set(
        tenant=tenant, minimum_commitment=None, usage_threshold=amount, actor="finance@test"
    )


def _charges(stripe_client, customer_id) -> list[int]:
    return sorted(
        c.amount
        for c in stripe_client.v1.charges.list(params={"limit": 100}).data
        if c.customer == customer_id and c.paid
    )


def test_threshold_invoice_mid_period_and_the_renewal_bills_only_the_rest(
    relay, owner_client, tenant, stripe_client
):
    subscribe(owner_client, plan_id="starter", payment_method="pm_card_visa")  # 29.00
    relay.pump()
    account = BillingAccount.objects.get(tenant=tenant)
    _threshold(tenant, 5000)  # 50.00 of api_calls overage

    use(tenant, 30000)  # 20,000 above the 10,000 included at 2.00 / 1,000: 40.00
    assert services.usage_threshold_check(tenant=tenant) is None
    use(tenant, 5000)  # 50.00: the threshold
    record = services.usage_threshold_check(tenant=tenant)
    relay.pump()
    assert record is not None and (record.amount, record.sequence) == (5000, 1)
    invoice = stripe_client.v1.invoices.retrieve(record.invoice_id)
    assert (invoice.status, invoice.total, invoice.amount_paid) == ("paid", 5000, 5000)
    assert services.usage_threshold_check(tenant=tenant) is None  # the same crossing: once
    assert ThresholdInvoice.objects.filter(tenant=tenant).count() == 1

    use(tenant, 5000)  # 60.00 in all: 10.00 not billed yet, below the threshold
    assert services.usage_threshold_check(tenant=tenant) is None

    # The portal's invoice list shows the threshold invoice (it is an invoice).
    listed = owner_client.get("/api/v1/invoices").json()
    assert record.invoice_id in [i["invoice_id"] for i in listed]

    advance(relay, tenant, 32)
    renewal = stripe_client.v1.invoices.list(params={"subscription": account.subscription_id}).data[
        0
    ]
    lines = stripe_client.v1.invoices.line_items.list(renewal.id).data
    # usage 60.00 - 50.00 already billed + 29.00 for the next period
    assert sorted(ln.amount for ln in lines) == [-5000, 2900, 6000]
    assert (renewal.status, renewal.total, renewal.amount_paid) == ("paid", 3900, 3900)
    assert _charges(stripe_client, account.stripe_customer_id) == [2900, 3900, 5000]


def test_a_declined_threshold_invoice_goes_to_dunning(relay, owner_client, tenant, stripe_client):
    from invoicing.models import InvoiceState

    subscribe(owner_client, plan_id="starter", payment_method="pm_card_visa")
    relay.pump()
    account = BillingAccount.objects.get(tenant=tenant)
    failing = stripe_client.v1.payment_methods.attach(
        "pm_card_chargeCustomerFail", params={"customer": account.stripe_customer_id}
    )
    stripe_client.v1.customers.update(
        account.stripe_customer_id,
        params={"invoice_settings": {"default_payment_method": failing.id}},
    )
    relay.pump()
    _threshold(tenant, 5000)
    use(tenant, 35000)

    record = services.usage_threshold_check(tenant=tenant)
    relay.pump()

    assert record is not None and record.amount == 5000
    invoice = stripe_client.v1.invoices.retrieve(record.invoice_id)
    assert (invoice.status, invoice.amount_remaining) == ("open", 5000)
    with tenant_context(tenant):
        state = InvoiceState.objects.get(invoice_id=record.invoice_id)
        assert state.dunning == InvoiceState.Dunning.SCHEDULED and state.next_retry_at
    # The renewal still deducts what the open invoice bills (it is dunning's to collect).
    assert record.credit_item_id
