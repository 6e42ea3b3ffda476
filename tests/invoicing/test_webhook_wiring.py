"""Stripe's webhooks reach invoicing through the one endpoint: a renewal delivered to
POST /api/v1/webhooks/stripe leaves a rendered PDF and the dunning state of a declined payment."""

import pytest
from django_tenants.utils import tenant_context

from invoicing.models import InvoiceDocument, InvoiceState, PaymentAttempt
from tests.notifications.conftest import eager  # noqa: F401  (fixture)
from tests.subscriptions.conftest import catalog, hooks, stripe_on, subscribe  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db


def test_renewal_webhooks_render_the_pdf(
    hooks,  # noqa: F811 (a pytest fixture imported above)
    eager,  # noqa: F811 (a pytest fixture imported above)
    owner_client,
    tenant,
    django_capture_on_commit_callbacks,
):
    from subscriptions.services.clocks import test_clock_advance

    subscribe(owner_client, plan_id="starter", payment_method="pm_card_visa", trial_days=3)
    test_clock_advance(tenant=tenant, days=4)
    with django_capture_on_commit_callbacks(execute=True):
        hooks.deliver()
    paid = [i for i in owner_client.get("/api/v1/invoices").json() if i["total"] == "29.00"]
    assert len(paid) == 1 and paid[0]["status"] == "paid"
    with tenant_context(tenant):
        document = InvoiceDocument.objects.get(invoice_id=paid[0]["invoice_id"])
        assert document.status == "ready" and document.checksum
    response = owner_client.get(f"/api/v1/invoices/{paid[0]['invoice_id']}/pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"


def test_declined_renewal_webhook_starts_dunning(
    hooks,  # noqa: F811 (a pytest fixture imported above)
    eager,  # noqa: F811 (a pytest fixture imported above)
    owner_client,
    tenant,
    django_capture_on_commit_callbacks,
):
    from subscriptions.services.clocks import test_clock_advance

    subscribe(
        owner_client, plan_id="starter", payment_method="pm_card_chargeCustomerFail", trial_days=3
    )
    test_clock_advance(tenant=tenant, days=4)
    with django_capture_on_commit_callbacks(execute=True):
        hooks.deliver()
    with tenant_context(tenant):
        state = InvoiceState.objects.get(amount_due=2900)
        assert state.dunning == InvoiceState.Dunning.SCHEDULED and state.next_retry_at is not None
        assert PaymentAttempt.objects.filter(invoice_id=state.invoice_id).count() == 1
