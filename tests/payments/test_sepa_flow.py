"""SEPA Direct Debit end to end through the API and Stripe's webhooks: a subscription paid by a test
IBAN is `processing` (API, PDF), cannot be paid twice, and settles when the tenant's test clock moves:
paid for AT611904300234573201, a failure (dunning, payment_failed notification) for
AT861904300235473202. PayPal: approved, made the default, and the renewal is paid through it."""

import io
import urllib.parse
import urllib.request

import pytest
from django_tenants.utils import tenant_context

from tests.conftest import assert_error

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("celery_eager", "media")]


def _subscribe_with_sepa(client, iban, plan_id="starter-eur"):
    added = client.post(
        "/api/v1/payment-methods", {"type": "sepa_debit", "iban": iban}, format="json"
    )
    assert added.status_code == 201, added.content
    created = client.post(
        "/api/v1/subscriptions", {"plan_id": plan_id, "billing_cycle": "monthly"}, format="json"
    )
    assert created.status_code == 201, created.content
    return created.json()


def _invoice(client, invoice_id):
    response = client.get(f"/api/v1/invoices/{invoice_id}")
    assert response.status_code == 200, response.content
    return response.json()


def _pdf_text(client, invoice_id):
    from pypdf import PdfReader

    response = client.get(f"/api/v1/invoices/{invoice_id}/pdf")
    assert response.status_code == 200, response.content
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)


def test_a_sepa_subscription_is_processing_until_the_clock_settles_it(
    deliver, owner_client, tenant, euro_plan, django_capture_on_commit_callbacks
):
    from subscriptions.services.clocks import test_clock_advance

    sub = _subscribe_with_sepa(owner_client, "AT611904300234573201")
    assert sub["status"] == "active"  # Stripe activates it while the first debit processes
    deliver()
    invoice = _invoice(owner_client, sub["latest_invoice_id"])
    assert (invoice["status"], invoice["payment_processing"]) == ("open", True)
    assert "Payment processing" in _pdf_text(owner_client, invoice["invoice_id"])

    # Paying it again would debit twice: refused while the debit is on its way.
    assert_error(
        owner_client.post(f"/api/v1/invoices/{invoice['invoice_id']}/pay"),
        409,
        "payment_processing",
    )

    test_clock_advance(tenant=tenant, days=1)
    deliver()
    invoice = _invoice(owner_client, sub["latest_invoice_id"])
    assert (invoice["status"], invoice["payment_processing"]) == ("paid", False)
    assert owner_client.get("/api/v1/subscriptions/current").json()["status"] == "active"
    assert "Payment processing" not in _pdf_text(owner_client, invoice["invoice_id"])


def test_the_failing_iban_goes_to_dunning_as_a_failure(
    deliver, owner_client, tenant, euro_plan, django_capture_on_commit_callbacks
):
    from invoicing.models import InvoiceState, PaymentAttempt
    from notifications.models import BillingEvent
    from subscriptions.services.clocks import test_clock_advance

    sub = _subscribe_with_sepa(owner_client, "AT861904300235473202")
    deliver()
    invoice_id = sub["latest_invoice_id"]
    with tenant_context(tenant):
        # Processing is not a decline: nothing retries it, nothing was announced.
        state = InvoiceState.objects.get(invoice_id=invoice_id)
        assert state.payment_processing and state.dunning == InvoiceState.Dunning.NONE
        assert not PaymentAttempt.objects.filter(invoice_id=invoice_id, outcome="failed").exists()
        assert not BillingEvent.objects.filter(kind="payment_failed").exists()

    test_clock_advance(tenant=tenant, days=1)
    deliver()
    invoice = _invoice(owner_client, invoice_id)
    assert (invoice["status"], invoice["payment_processing"]) == ("open", False)
    with tenant_context(tenant):
        state = InvoiceState.objects.get(invoice_id=invoice_id)
        assert state.dunning == InvoiceState.Dunning.SCHEDULED and state.next_retry_at
        assert state.last_decline_code == "insufficient_funds"
        failed = PaymentAttempt.objects.get(invoice_id=invoice_id, outcome="failed")
        assert failed.decline_code == "insufficient_funds"
        failed_event = BillingEvent.objects.get(kind="payment_failed", object_id=invoice_id)
        assert failed_event.data["decline_code"] == "insufficient_funds"
        assert BillingEvent.objects.filter(kind="payment_retry_scheduled").exists()
    assert owner_client.get("/api/v1/subscriptions/current").json()["status"] == "past_due"


def _approve(url):
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    body = urllib.parse.urlencode({"action": "approve", "email": "jenny.rosen@example.com"})
    try:
        urllib.request.build_opener(NoRedirect).open(
            urllib.request.Request(url, data=body.encode())
        )
    except urllib.error.HTTPError as exc:
        return exc.headers["Location"]
    raise AssertionError("no redirect")


def test_a_renewal_is_paid_through_an_approved_paypal_account(
    deliver, owner_client, tenant, django_capture_on_commit_callbacks
):
    """A tenant that first paid by card makes its approved PayPal account the default; the next
    renewal (the test clock a month on) is paid in full through PayPal, not the card."""
    from billing_project.stripe_gateway.client import get_client
    from subscriptions.services.clocks import test_clock_advance

    sub = owner_client.post(
        "/api/v1/subscriptions",
        {"plan_id": "starter", "billing_cycle": "monthly", "payment_method": "pm_card_visa"},
        format="json",
    ).json()
    deliver()
    first = _invoice(owner_client, sub["latest_invoice_id"])
    assert (first["status"], first["amount_paid"]) == ("paid", "29.00")

    started = owner_client.post(
        "/api/v1/payment-methods",
        {"type": "paypal", "return_url": "https://portal.example.com/back"},
        format="json",
    )
    assert started.status_code == 201, started.content
    approval_url = started.json()["approval_url"]
    assert "/_emulator/paypal/seti_" in approval_url
    assert "redirect_status=succeeded" in _approve(approval_url)
    [paypal] = [
        p for p in owner_client.get("/api/v1/payment-methods").json() if p["type"] == "paypal"
    ]
    assert paypal["label"] == "PayPal j•••@example.com"
    made_default = owner_client.post(
        f"/api/v1/payment-methods/{paypal['payment_method_id']}/default"
    )
    assert made_default.status_code == 200, made_default.content
    listed = owner_client.get("/api/v1/payment-methods").json()
    assert [p["type"] for p in listed if p["is_default"]] == ["paypal"]

    test_clock_advance(tenant=tenant, days=32)
    deliver()
    invoices = owner_client.get("/api/v1/invoices").json()
    assert [i["invoice_id"] for i in invoices][1:] == [first["invoice_id"]]
    renewal = invoices[0]
    assert (renewal["status"], renewal["total"], renewal["amount_paid"], renewal["currency"]) == (
        "paid",
        "29.00",
        "29.00",
        "usd",
    )
    assert renewal["amount_remaining"] == "0.00"
    assert owner_client.get("/api/v1/subscriptions/current").json()["status"] == "active"

    stripe_invoice = get_client().v1.invoices.retrieve(
        renewal["invoice_id"], params={"expand": ["payments.data.payment.payment_intent"]}
    )
    assert stripe_invoice.billing_reason == "subscription_cycle"
    [payment] = stripe_invoice.payments.data
    intent = payment.payment.payment_intent
    assert (intent.status, intent.amount, intent.amount_received, intent.currency) == (
        "succeeded",
        2900,
        2900,
        "usd",
    )
    assert intent.payment_method == paypal["payment_method_id"]
    assert "paypal" in intent.payment_method_types
    charge = get_client().v1.charges.retrieve(intent.latest_charge)
    assert (charge.amount, charge.paid, charge.payment_method_details.type) == (
        2900,
        True,
        "paypal",
    )
    assert charge.payment_method_details.paypal.payer_email == "jenny.rosen@example.com"


def _wait_for_event(hooks, event_type, timeout=10.0):
    """The emulator delivers webhooks from its own thread: wait until this one reached the sink."""
    import time

    deadline = time.monotonic() + timeout
    while not any(f'"{event_type}"' in r["body"] for r in hooks.sink.requests):
        assert time.monotonic() < deadline, f"no {event_type} delivered"
        time.sleep(0.05)


def test_paypal_approved_through_the_api_becomes_the_default_by_stripes_webhook(
    deliver, hooks, owner_client, tenant, django_capture_on_commit_callbacks
):
    """An API client's payer comes back to the client's own page, never ours: Stripe's
    setup_intent.succeeded makes the approved account the default of a tenant that has none."""
    started = owner_client.post(
        "/api/v1/payment-methods",
        {"type": "paypal", "return_url": "https://app.example.com/back"},
        format="json",
    ).json()
    assert "redirect_status=succeeded" in _approve(started["approval_url"])
    _wait_for_event(hooks, "setup_intent.succeeded")
    deliver()
    [paypal] = owner_client.get("/api/v1/payment-methods").json()
    assert (paypal["type"], paypal["is_default"]) == ("paypal", True)
    # The return page finishing it as well (a portal payer) saves it once.
    from subscriptions.services.bank_methods import paypal_setup_finish
    from tenants.models import AuditEvent

    setup_intent_id = started["approval_url"].rstrip("/").rsplit("/", 1)[1]
    paypal_setup_finish(tenant=tenant, setup_intent_id=setup_intent_id)
    attached = AuditEvent.objects.filter(
        tenant=tenant, action="payment_method.attach", target=paypal["payment_method_id"]
    )
    assert attached.count() == 1

    sub = owner_client.post(
        "/api/v1/subscriptions", {"plan_id": "starter", "billing_cycle": "monthly"}, format="json"
    )
    assert sub.status_code == 201, sub.content
    deliver()
    first = _invoice(owner_client, sub.json()["latest_invoice_id"])
    assert (first["status"], first["amount_paid"]) == ("paid", "29.00")
