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


def test_the_status_is_kept_per_process_until_an_invoice_state_or_the_account_changes(
    caching, tenant, django_capture_on_commit_callbacks
):
    from django.utils import timezone
    from django_tenants.utils import schema_context

    from invoicing.models import InvoiceState

    assert tenant_billing_status(tenant=tenant) == "ok"
    with django_capture_on_commit_callbacks(execute=True):
        _invoice(tenant, status="open", overdue=False)
    assert tenant_billing_status(tenant=tenant) == "ok"
    with django_capture_on_commit_callbacks(execute=True), schema_context(tenant.schema_name):
        state = InvoiceState.objects.get()
        state.overdue_since = timezone.now()  # what the daily overdue job saves
        state.save()
    assert tenant_billing_status(tenant=tenant) == "overdue"
    with django_capture_on_commit_callbacks(execute=True), schema_context(tenant.schema_name):
        state.status = "paid"
        state.save()
    with django_capture_on_commit_callbacks(execute=True):
        _account(tenant, "past_due")
    assert tenant_billing_status(tenant=tenant) == "past_due"


def test_a_change_published_for_one_tenant_keeps_the_others_cached(caching, tenant, other_tenant):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tenants.selectors import billing_status_key
    from tests.conftest import change_published_elsewhere

    def reads(of) -> int:
        with CaptureQueriesContext(connection) as queries:
            tenant_billing_status(tenant=of)
        return len(queries)

    assert reads(tenant) and reads(other_tenant)
    assert reads(tenant) == 0 and reads(other_tenant) == 0
    # Another process committed an invoice change of `tenant` and published it.
    change_published_elsewhere(billing_status_key(tenant.schema_name).encode())
    assert reads(tenant)
    assert reads(other_tenant) == 0
