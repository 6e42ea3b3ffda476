"""Two workers checking the same tenant's threshold at once issue one invoice for the crossing.

Each thread runs the check on its own database connection, so the claim (a unique row per
subscription, period and crossing) meets really concurrent transactions. Their commits outlive the
test's rolled-back transaction, so the test works in globex and removes its rows afterwards. Stripe
is replaced by a recorder here (the Stripe side is covered by test_progressive.py)."""

import itertools
import threading
import time
from types import SimpleNamespace

import pytest
from django.utils import timezone

from commitments import services
from commitments.models import ThresholdInvoice
from commitments.selectors import Terms
from commitments.services import thresholds
from tests.concurrency import at_once, committed

pytestmark = pytest.mark.django_db

PERIOD_START = 1_800_000_000


def _cleanup(tenant) -> None:
    from tenants.models import AuditEvent

    ThresholdInvoice.objects.filter(tenant=tenant).delete()
    AuditEvent.objects.filter(tenant=tenant, action__startswith="commitments.").delete()


@pytest.fixture
def issued(other_tenant, monkeypatch):
    """The tenant with a 50.00 threshold, 50.00 of usage charges unbilled, and the invoices issued."""
    import usage.services

    calls = []
    lock = threading.Lock()
    monkeypatch.setattr(
        thresholds.selectors, "terms_get", lambda tenant: Terms(None, 5000, "usd", "", "plan")
    )
    monkeypatch.setattr(
        thresholds,
        "billing_account_get",
        lambda tenant: SimpleNamespace(
            subscription_id="sub_concurrency", status="active", stripe_customer_id="cus_x"
        ),
    )
    monkeypatch.setattr(usage.services, "usage_meter_push", lambda tenant: [])
    monkeypatch.setattr(
        thresholds.selectors,
        "upcoming_preview",
        lambda **kw: {
            "currency": "usd",
            "period_start": PERIOD_START,
            "period_end": PERIOD_START + 30 * 86400,
        },
    )
    monkeypatch.setattr(thresholds.selectors, "usage_charges", lambda preview: 5000)
    monkeypatch.setattr(thresholds, "tenant_now", lambda tenant: timezone.now())
    billed = thresholds.selectors.threshold_billed
    readers = itertools.count()

    def slow_billed(**kw):
        # Widen the window between reading what was billed and claiming the crossing: the first
        # reader claims at once, the others only after its claim committed.
        value = billed(**kw)
        time.sleep(0.05 if next(readers) == 0 else 0.5)
        return value

    monkeypatch.setattr(thresholds.selectors, "threshold_billed", slow_billed)

    def issue(record, **kw):
        time.sleep(0.2)  # Stripe's round trips: the other workers run meanwhile
        with lock:
            calls.append((record.sequence, record.amount))
        ThresholdInvoice.objects.filter(pk=record.pk).update(
            status=ThresholdInvoice.Status.ISSUED, invoice_id=f"in_{record.sequence}"
        )

    monkeypatch.setattr(thresholds, "_threshold_issue", issue)
    committed(lambda: _cleanup(other_tenant))
    yield other_tenant, calls
    committed(lambda: _cleanup(other_tenant))


def test_two_concurrent_checks_issue_one_invoice_per_crossing(issued):
    tenant, calls = issued

    def check():
        services.usage_threshold_check(tenant=tenant)

    at_once(*[check] * 4)
    assert calls == [(1, 5000)]
    rows = ThresholdInvoice.objects.filter(tenant=tenant)
    assert [(r.sequence, r.amount, r.invoice_id) for r in rows] == [(1, 5000, "in_1")]
