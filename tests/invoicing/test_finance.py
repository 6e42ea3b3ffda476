"""Refunds (maker-checker), credit notes, adjustments, void and mark-uncollectible by platform finance."""

import pytest
from django.contrib.auth.models import Group
from django_tenants.utils import tenant_context

from notifications.models import BillingEvent
from tests.conftest import assert_error


@pytest.fixture
def paid_invoice(billing, tenant, owner_client):
    billing.subscribe(tenant, amount=90_000)  # 900.00
    return owner_client.get("/api/v1/invoices").json()[0]


@pytest.fixture
def finance(client_for, finance_staff):
    return client_for(finance_staff, HTTP_X_TENANT_ID="acme")


@pytest.fixture
def second_finance(client_for, django_user_model):
    from tests.conftest import DEMO_PASSWORD

    user = django_user_model.objects.create_user(
        email="checker@platform.test", password=DEMO_PASSWORD, is_staff=True
    )
    user.groups.add(Group.objects.get(name="finance"))
    return client_for(user, HTTP_X_TENANT_ID="acme")


def audit(tenant, action):
    from tenants.models import AuditEvent

    return list(
        AuditEvent.objects.filter(tenant=tenant, action=action).values_list("actor", "target")
    )


def test_partial_then_full_refund_make_credit_notes_and_over_refund_is_400(
    paid_invoice, finance, tenant, stripe_client
):
    invoice_id = paid_invoice["invoice_id"]
    partial = finance.post(
        f"/api/v1/invoices/{invoice_id}/refunds",
        {"amount": "100.00", "reason": "outage"},
        format="json",
    )
    assert partial.status_code == 201, partial.content
    body = partial.json()
    assert (
        body["status"] == "succeeded" and body["amount"] == "100.00" and body["currency"] == "usd"
    )
    note = stripe_client.v1.credit_notes.retrieve(body["credit_note_id"])
    assert (
        note.amount == 10_000
        and note.refunds[0]["amount_refunded"] == 10_000
        and note.invoice == invoice_id
    )

    assert_error(
        finance.post(
            f"/api/v1/invoices/{invoice_id}/refunds",
            {"amount": "800.01", "reason": "x"},
            format="json",
        ),
        400,
        "invalid_request",
    )
    rest = finance.post(
        f"/api/v1/invoices/{invoice_id}/refunds", {"reason": "goodwill"}, format="json"
    )
    # 800.00 is above the default threshold (500.00): it waits for a second finance user.
    assert (
        rest.status_code == 201
        and rest.json()["status"] == "pending_approval"
        and rest.json()["amount"] == "800.00"
    )
    assert rest.json()["credit_note_id"] in ("", None)
    assert_error(
        finance.post(
            f"/api/v1/invoices/{invoice_id}/refunds",
            {"amount": "0.01", "reason": "x"},
            format="json",
        ),
        400,
        "invalid_request",
    )  # the pending 800 is reserved
    assert len(audit(tenant, "refund.create")) == 1 and len(audit(tenant, "refund.request")) == 1
    # Only the executed refund is announced (the pending one is not a refund yet).
    with tenant_context(tenant):
        announced = list(
            BillingEvent.objects.filter(kind="refund_issued").values_list("data", flat=True)
        )
    assert [(d["amount"], d["currency"]) for d in announced] == [(10_000, "usd")]


def test_a_currency_with_a_threshold_of_its_own_is_approved_by_it(
    billing, tenant, owner_client, finance
):
    """50,000 minor units are 500 dollars but only 50,000 yen: yen refunds get their own threshold,
    and a currency without one keeps the default."""
    from policies.services import policy_update

    billing.subscribe(tenant, amount=90_000, currency="jpy")  # ¥90,000 (no minor unit)
    invoice_id = owner_client.get("/api/v1/invoices").json()[0]["invoice_id"]

    def refund(amount: str) -> dict:
        response = finance.post(
            f"/api/v1/invoices/{invoice_id}/refunds",
            {"amount": amount, "reason": "goodwill"},
            format="json",
        )
        assert response.status_code == 201, response.content
        return response.json()

    # The default (50,000 minor units) would hold back ¥60,000.
    assert refund("60000")["status"] == "pending_approval"
    policy_update(changes={"refund_approval_thresholds": {"jpy": 100_000}}, actor="test")
    succeeded = refund("20000")
    assert (succeeded["status"], succeeded["currency"]) == ("succeeded", "jpy")
    policy_update(changes={"refund_approval_thresholds": {"jpy": 5_000}}, actor="test")
    assert refund("6000")["status"] == "pending_approval"


def test_maker_checker_blocks_a_large_refund_until_a_second_user_approves(
    paid_invoice, finance, second_finance, tenant, stripe_client
):
    invoice_id = paid_invoice["invoice_id"]
    pending = finance.post(
        f"/api/v1/invoices/{invoice_id}/refunds",
        {"amount": "600.00", "reason": "dup"},
        format="json",
    ).json()
    assert pending["status"] == "pending_approval"
    assert stripe_client.v1.credit_notes.list(params={"invoice": invoice_id}).data == []
    assert_error(
        finance.post(f"/api/v1/refunds/{pending['refund_id']}/approve", format="json"),
        403,
        "approval_requires_second_user",
    )
    approved = second_finance.post(f"/api/v1/refunds/{pending['refund_id']}/approve", format="json")
    assert approved.status_code == 200, approved.content
    assert (
        approved.json()["status"] == "succeeded"
        and approved.json()["decided_by"] == "checker@platform.test"
    )
    notes = stripe_client.v1.credit_notes.list(params={"invoice": invoice_id}).data
    assert [n.amount for n in notes] == [60_000]
    assert_error(
        second_finance.post(f"/api/v1/refunds/{pending['refund_id']}/approve", format="json"),
        409,
        "refund_not_pending",
    )
    assert audit(tenant, "refund.approve") == [("checker@platform.test", invoice_id)]


def test_refunds_are_for_finance_staff_only(paid_invoice, owner_client, client_for, support_staff):
    url = f"/api/v1/invoices/{paid_invoice['invoice_id']}/refunds"
    assert_error(owner_client.post(url, {"reason": "x"}, format="json"), 403, "permission_denied")
    support = client_for(support_staff, HTTP_X_TENANT_ID="acme")
    assert_error(support.post(url, {"reason": "x"}, format="json"), 403, "permission_denied")


@pytest.fixture
def open_invoice(billing, tenant):
    account = billing.customer(tenant, card=None)
    stripe = billing.stripe
    stripe.v1.invoice_items.create(
        params={
            "customer": account.stripe_customer_id,
            "amount": 12_000,
            "currency": "usd",
            "description": "Setup",
        }
    )
    draft = stripe.v1.invoices.create(
        params={
            "customer": account.stripe_customer_id,
            "collection_method": "send_invoice",
            "days_until_due": 10,
            "pending_invoice_items_behavior": "include",
        }
    )
    stripe.v1.invoices.finalize_invoice(draft.id)
    billing.dispatch()
    return draft.id


def test_credit_note_on_an_open_invoice_lowers_what_is_due(
    open_invoice, finance, owner_client, tenant
):
    created = finance.post(
        f"/api/v1/invoices/{open_invoice}/credit-notes",
        {"amount": "20.00", "reason": "sla"},
        format="json",
    )
    assert created.status_code == 201, created.content
    assert created.json()["amount"] == "20.00" and created.json()["kind"] == "credit"
    assert (
        owner_client.get(f"/api/v1/invoices/{open_invoice}").json()["amount_remaining"] == "100.00"
    )
    assert_error(
        finance.post(
            f"/api/v1/invoices/{open_invoice}/credit-notes",
            {"amount": "100.01", "reason": "x"},
            format="json",
        ),
        400,
        "invalid_request",
    )
    assert audit(tenant, "credit_note.create")[0][1] == open_invoice


def test_void_and_mark_uncollectible(
    open_invoice, finance, billing, tenant, owner_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):  # the PDF is re-rendered after commit
        voided = finance.post(f"/api/v1/invoices/{open_invoice}/void", format="json")
    assert voided.status_code == 200 and voided.json()["status"] == "void"
    assert owner_client.get(f"/api/v1/invoices/{open_invoice}").json()["status"] == "void"
    assert_error(
        finance.post(f"/api/v1/invoices/{open_invoice}/mark-uncollectible", format="json"),
        409,
        "invoice_not_open",
    )
    assert_error(
        owner_client.post(f"/api/v1/invoices/{open_invoice}/void", format="json"),
        403,
        "permission_denied",
    )
    assert audit(tenant, "invoice.void") == [("finance@platform.test", open_invoice)]
    from invoicing.models import InvoiceDocument

    with tenant_context(tenant):
        assert InvoiceDocument.objects.get(invoice_id=open_invoice).invoice_status == "void"


def test_adjustment_lands_on_the_next_invoice(billing, tenant, finance, owner_client):
    billing.subscribe(tenant)
    created = finance.post(
        "/api/v1/adjustments",
        {"amount": "-5.00", "currency": "usd", "description": "Credit for the outage"},
        format="json",
    )
    assert created.status_code == 201, created.content
    assert created.json()["amount"] == "-5.00"
    billing.advance(tenant, days=32)
    newest = owner_client.get("/api/v1/invoices").json()[0]
    detail = owner_client.get(f"/api/v1/invoices/{newest['invoice_id']}").json()
    assert ("adjustment", "-5.00", "Credit for the outage") in [
        (line["kind"], line["amount"], line["description"]) for line in detail["lines"]
    ]
    assert newest["total"] == "24.00"
    assert audit(tenant, "adjustment.create")
