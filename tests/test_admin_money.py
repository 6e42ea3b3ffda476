"""Every amount the admin lists is money in its row's currency, never the stored minor units: a
finance user reading "150000" for $1,500.00 (or for ¥150,000) misreads it a hundredfold."""

import re
from datetime import UTC, datetime

import pytest

from billing_project.admin_kit import money_column
from tests.subscriptions.conftest import finance_admin  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db

AT = datetime(2026, 5, 1, tzinfo=UTC)


@pytest.fixture
def records(tenant, other_tenant):
    """One row of each record finance reads: credits in USD for `tenant` and EUR for the other,
    budget alerts, a commitment true-up and a threshold invoice."""
    from budgets.models import BudgetAlert
    from commitments.models import CommitmentTrueUp, ThresholdInvoice
    from credits.models import CreditGrant, CreditLedgerEntry, CreditWallet, InvoiceCredit

    for owner, currency in ((tenant, "usd"), (other_tenant, "eur")):
        wallet = CreditWallet.objects.create(
            tenant=owner,
            currency=currency,
            balance=150000,
            auto_top_up_below=20000,
            auto_top_up_amount=50000,
            low_balance_below=30000,
        )
        grant = CreditGrant.objects.create(
            wallet=wallet,
            tenant=owner,
            category="paid",
            source="staff",
            amount=170000,
            remaining=150000,
            actor="finance@test",
            granted_at=AT,
        )
        CreditLedgerEntry.objects.create(
            wallet=wallet,
            tenant=owner,
            kind="applied",
            grant=grant,
            amount=-20000,
            balance_after=150000,
            invoice_id=f"in_{currency}",
            occurred_at=AT,
        )
        InvoiceCredit.objects.create(
            tenant=owner, wallet=wallet, invoice_id=f"in_{currency}", amount=20000
        )
        BudgetAlert.objects.create(
            tenant=owner,
            period_start=AT,
            threshold=80,
            spent=120000,
            amount=150000,
            currency=currency,
            sent_at=AT,
        )
        CommitmentTrueUp.objects.create(
            tenant=owner,
            subscription_id=f"sub_{currency}",
            period_start=AT,
            period_end=AT,
            currency=currency,
            committed=150000,
            spent=120000,
            amount=30000,
            invoice_id=f"in_{currency}",
        )
        ThresholdInvoice.objects.create(
            tenant=owner,
            subscription_id=f"sub_{currency}",
            period_start=AT,
            period_end=AT,
            sequence=1,
            currency=currency,
            threshold=100000,
            amount=120000,
            usage_total=120000,
            issued_at=AT,
        )


@pytest.mark.parametrize(
    "url, amounts",
    [
        ("/admin/credits/creditwallet/", ["1,500.00", "200.00", "500.00", "300.00"]),
        ("/admin/credits/creditgrant/", ["1,700.00", "1,500.00"]),
        ("/admin/credits/creditledgerentry/", ["200.00", "1,500.00"]),
        ("/admin/credits/invoicecredit/", ["200.00"]),
        ("/admin/budgets/budgetalert/", ["1,200.00", "1,500.00"]),
        ("/admin/commitments/commitmenttrueup/", ["1,500.00", "1,200.00", "300.00"]),
        ("/admin/commitments/thresholdinvoice/", ["1,200.00"]),
    ],
)
def test_finance_reads_every_amount_as_money_in_its_currency(
    records,
    finance_admin,  # noqa: F811 (the fixture imported above)
    django_assert_max_num_queries,
    url,
    amounts,
):
    finance_admin.get(url)  # the session and permissions, read once
    with django_assert_max_num_queries(12):  # the rows' currencies come with them
        page = finance_admin.get(url).content.decode()
    for raw in ("150000", "120000", "170000", "20000", "30000", "50000"):
        assert f">{raw}<" not in page, f"{url} shows {raw} in minor units"
    for amount in amounts:
        assert f"${amount}" in page, f"{url}: no ${amount}"
        assert f"€{amount}" in page, f"{url}: no €{amount}"


@pytest.mark.parametrize(
    "model, amounts",
    [
        ("credits.creditwallet", ["1,500.00", "200.00", "500.00", "300.00"]),
        ("credits.creditgrant", ["1,700.00", "1,500.00", "0.00"]),
        ("credits.creditledgerentry", ["200.00", "1,500.00"]),
        ("credits.invoicecredit", ["200.00"]),
        ("budgets.budgetalert", ["1,200.00", "1,500.00"]),
        ("commitments.commitmenttrueup", ["1,500.00", "1,200.00", "300.00"]),
        ("commitments.thresholdinvoice", ["1,000.00", "1,200.00"]),
    ],
)
def test_a_records_own_page_shows_its_amounts_as_money(
    records,
    finance_admin,  # noqa: F811 (the fixture imported above)
    tenant,
    model,
    amounts,
):
    """The page of one record (read-only: nobody edits the books) shows money, not the integer."""
    from django.apps import apps

    row = apps.get_model(model).objects.get(tenant=tenant)
    response = finance_admin.get(f"/admin/{model.replace('.', '/')}/{row.pk}/change/")
    page = response.content.decode()
    assert response.status_code == 200
    for raw in ("150000", "120000", "170000", "100000", "20000", "30000", "50000"):
        assert f">{raw}<" not in page, f"{model} shows {raw} in minor units"
    for amount in amounts:
        assert f"${amount}" in page, f"{model}: no ${amount}"
    # Its name too (the title, the breadcrumbs, the history): "grant 1 (paid, 170000)" was minor units.
    title = page.split("<title>", 1)[1].split("</title>", 1)[0]
    assert not re.search(r"(?<![\d.,])\d{5,}(?![\d.,])", title), title


def test_a_money_column_is_money_in_the_rows_currency_and_a_dash_for_none():
    from types import SimpleNamespace

    column = money_column("amount", "Amount", currency="wallet.currency")
    row = SimpleNamespace(amount=290000, wallet=SimpleNamespace(currency="jpy"))
    assert column(None, row) == "¥290,000"
    assert column(None, SimpleNamespace(amount=None, wallet=row.wallet)) == "—"
    assert column.short_description == "Amount" and column.admin_order_field == "amount"
