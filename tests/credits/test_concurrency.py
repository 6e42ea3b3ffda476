"""Two top-ups and an invoice (reported twice) at the same moment never apply the same credit twice.

Each thread runs the credit services on its own database connection, so the wallet's row lock and
the once-per-invoice unique row meet really concurrent transactions. Their commits outlive the test's
rolled-back transaction, so the test works in globex and removes its rows afterwards. Stripe is
replaced by a recorder here (the Stripe side is covered by test_credits.py through the emulator).
"""

import itertools
from types import SimpleNamespace

import pytest
from django.utils import timezone

from credits import services
from credits.models import CreditGrant, CreditLedgerEntry, CreditWallet, InvoiceCredit
from tests.concurrency import at_once, committed

pytestmark = pytest.mark.django_db

ROUNDS = 5


def _cleanup(tenant) -> None:
    from tenants.models import AuditEvent

    for model in (CreditLedgerEntry, InvoiceCredit, CreditGrant, CreditWallet):
        model.objects.using("default").filter(tenant=tenant).delete()
    AuditEvent.objects.filter(tenant=tenant, action__startswith="credits.").delete()


@pytest.fixture
def committed_tenant(other_tenant, monkeypatch, django_db_blocker):
    ids = itertools.count(1)
    monkeypatch.setattr(
        services,
        "customer_ensure",
        lambda tenant: SimpleNamespace(stripe_customer_id="cus_concurrency"),
    )
    monkeypatch.setattr(
        services,
        "customer_retrieve",
        lambda customer_id: {
            "currency": "usd",
            "invoice_settings": {"default_payment_method": "pm_x"},
        },
    )
    monkeypatch.setattr(
        services.stripe_balances,
        "payment_intent_pay_now",
        lambda **kw: {
            "id": f"pi_concurrency_{next(ids)}",
            "status": "succeeded",
            "amount": kw["amount"],
            "currency": kw["currency"],
            "metadata": kw["metadata"],
        },
    )
    monkeypatch.setattr(
        services.stripe_balances,
        "balance_transaction_create",
        lambda **kw: SimpleNamespace(id=f"cbtxn_{next(ids)}"),
    )
    monkeypatch.setattr(services, "tenant_now", lambda tenant: timezone.now())
    # Deleted on a connection of its own (committed), like the threads wrote.
    committed(lambda: _cleanup(other_tenant))
    yield other_tenant
    committed(lambda: _cleanup(other_tenant))


def test_two_top_ups_and_an_invoice_at_once_never_apply_credit_twice(committed_tenant):
    tenant = committed_tenant
    committed(
        lambda: services._grant_record(
            tenant=tenant,
            currency="usd",
            amount=4000,
            category="paid",
            source="staff",
            actor="finance@platform.test",
            reason="Opening balance",
        )
    )
    for n in range(ROUNDS):
        invoice = {
            "id": f"in_concurrency_{n}",
            "status": "paid",
            "currency": "usd",
            # Stripe applied 30.00 of the customer's credit to this invoice.
            "starting_balance": -4000,
            "ending_balance": -1000,
        }

        def top_up():
            services.credit_top_up(tenant=tenant, amount=5000, currency="usd", actor="owner")

        def apply(invoice=invoice):
            services.credits_apply_invoice(tenant=tenant, invoice=invoice)

        at_once(top_up, top_up, apply, apply)

    wallet = CreditWallet.objects.get(tenant=tenant)
    grants = CreditGrant.objects.filter(tenant=tenant)
    # 40.00 + 5 rounds x (2 x 50.00 - 30.00)
    assert wallet.balance == 4000 + ROUNDS * (2 * 5000 - 3000)
    assert sum(g.remaining for g in grants) == wallet.balance
    assert InvoiceCredit.objects.filter(tenant=tenant).count() == ROUNDS
    applied = CreditLedgerEntry.objects.filter(tenant=tenant, kind="applied")
    assert sum(e.amount for e in applied) == -3000 * ROUNDS
    # The running balance is exact entry by entry.
    balance = 0
    for entry in CreditLedgerEntry.objects.filter(tenant=tenant).order_by("pk"):
        balance += entry.amount
        assert entry.balance_after == balance
