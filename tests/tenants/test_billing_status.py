"""A tenant's billing status reads its BillingAccount (the one source of its subscription state),
not dj-stripe's mirror, which may lag or hold older subscriptions."""

import pytest

from tenants.selectors import tenant_billing_status

pytestmark = pytest.mark.django_db


def _account(tenant, status, subscription_id="sub_1"):
    from subscriptions.models import BillingAccount

    BillingAccount.objects.update_or_create(
        tenant=tenant, defaults={"subscription_id": subscription_id, "status": status}
    )


def _mirror(tenant, status):
    from djstripe.models import Customer, Subscription

    customer = Customer.objects.create(
        id="cus_bs", livemode=False, subscriber=tenant, stripe_data={"id": "cus_bs"}
    )
    Subscription.objects.create(
        id="sub_old",
        livemode=False,
        customer=customer,
        stripe_data={"id": "sub_old", "status": status},
    )


@pytest.mark.parametrize(
    "status, expected",
    [
        ("past_due", "past_due"),
        ("unpaid", "past_due"),
        ("active", "ok"),
        ("trialing", "ok"),
        ("canceled", "ok"),
    ],
)
def test_billing_status_follows_the_billing_account(tenant, status, expected):
    _account(tenant, status)
    assert tenant_billing_status(tenant=tenant) == expected


def test_a_stale_mirror_does_not_make_a_paying_tenant_past_due(tenant):
    _mirror(tenant, "past_due")  # dj-stripe's copy, not yet updated
    _account(tenant, "active")
    assert tenant_billing_status(tenant=tenant) == "ok"


def test_an_account_without_a_subscription_is_ok(tenant):
    _account(tenant, "past_due", subscription_id="")
    assert tenant_billing_status(tenant=tenant) == "ok"


def _invoice(tenant, *, status, overdue):
    from django.utils import timezone
    from django_tenants.utils import schema_context

    from invoicing.models import InvoiceState

    with schema_context(tenant.schema_name):
        InvoiceState.objects.create(
            invoice_id=f"in_{status}_{overdue}",
            status=status,
            currency="usd",
            overdue_since=timezone.now() if overdue else None,
        )


def test_an_overdue_open_invoice_wins_over_past_due(tenant):
    _account(tenant, "past_due")
    _invoice(tenant, status="open", overdue=True)
    assert tenant_billing_status(tenant=tenant) == "overdue"


def test_only_an_open_invoice_marked_overdue_counts(tenant):
    _invoice(tenant, status="open", overdue=False)
    _invoice(tenant, status="paid", overdue=True)
    assert tenant_billing_status(tenant=tenant) == "ok"
