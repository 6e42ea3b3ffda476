"""Revenue recognition: a yearly invoice of 290.00 recognised 1/365 a day (the remainder on the
last day), a mid-period refund taking back the unrecognised part, the report and the journal."""

import io
from datetime import UTC, date, datetime
from types import SimpleNamespace

import pytest
from django.core.management import call_command
from django_tenants.utils import tenant_context

from analytics import revenue
from analytics.recognition import Schedule
from subscriptions.services import clocks

from .conftest import subscribe

NEW_YEAR = datetime(2026, 1, 1, tzinfo=UTC)
MONTHS = [date(2026, m, 1) for m in range(1, 13)]


def test_straight_line_days_add_up_to_the_amount():
    yearly = Schedule(29000, date(2026, 1, 1), date(2027, 1, 1))
    assert yearly.days == 365
    assert yearly.recognised_through(date(2026, 1, 1)) == 79  # 290.00 / 365 = 0.7945... -> 0.79
    assert yearly.recognised_through(date(2026, 12, 30)) == 364 * 79  # 287.56
    assert yearly.recognised_through(date(2026, 12, 31)) == 29000  # the last day takes 2.44
    one_off = Schedule(5000, date(2026, 3, 3), date(2026, 3, 4))
    assert one_off.recognised_through(date(2026, 3, 2)) == 0
    assert one_off.recognised_through(date(2026, 3, 3)) == 5000
    credit = Schedule(-1000, date(2026, 1, 1), date(2026, 1, 4))  # a proration credit
    assert [credit.recognised_through(date(2026, 1, d)) for d in (1, 2, 3)] == [-333, -666, -1000]


@pytest.fixture
def new_year_clock(monkeypatch):
    monkeypatch.setattr(
        "billing_project.stripe_gateway.clocks.time",
        SimpleNamespace(time=lambda: int(NEW_YEAR.timestamp())),
    )


def _report(month):
    rows = revenue.revenue_report(month=month, currency="usd")
    assert len(rows) == 1 and rows[0].plan_code == "starter"
    row = rows[0]
    assert row.opening + row.billed - row.recognised - row.reversed == row.closing
    return row


def test_yearly_invoice_recognised_daily_then_a_refund_reverses_the_rest(
    world, new_year_clock, other_client, other_tenant
):
    from invoicing.services.finance import refund_create
    from policies.models import BillingPolicy
    from policies.services import policy_ensure

    subscribe(
        other_client, plan_id="starter", billing_cycle="yearly", payment_method="pm_card_visa"
    )
    world.hooks.deliver()
    jan, dec = _report(MONTHS[0]), _report(MONTHS[11])
    assert (jan.opening, jan.billed, jan.recognised, jan.closing) == (0, 29000, 2449, 26551)
    assert (dec.opening, dec.recognised, dec.closing) == (2614, 2614, 0)  # 30 x 0.79 + 2.44
    assert sum(_report(m).recognised for m in MONTHS) == 29000
    assert revenue.revenue_report(month=date(2027, 1, 1)) == []

    # July 1: 181 days (143.00 - ... = 142.99) recognised, 147.01 still deferred and refunded.
    clocks.test_clock_advance(tenant=other_tenant, days=181)
    world.hooks.deliver()
    policy_ensure()
    BillingPolicy.objects.update(refund_approval_threshold=10**9)
    schedule = revenue.RevenueSchedule.objects.get()
    with tenant_context(other_tenant):
        refund_create(
            tenant=other_tenant,
            invoice_id=schedule.invoice_id,
            amount=14701,
            reason="unused half",
            actor="finance@platform.test",
        )
    world.hooks.deliver()
    jun, jul = _report(MONTHS[5]), _report(MONTHS[6])
    assert jun.closing == 14701
    assert (jul.opening, jul.recognised, jul.reversed, jul.closing) == (14701, 0, 14701, 0)
    assert sum(_report(m).recognised for m in MONTHS[:7]) == 14299
    aug = _report(MONTHS[7])  # the schedule's period runs on, but nothing is left of it
    assert (aug.opening, aug.billed, aug.recognised, aug.reversed, aug.closing) == (0, 0, 0, 0, 0)

    out = io.StringIO()
    call_command("revenue_report", "--month", "2026-07", stdout=out)
    assert "starter\tusd\t147.01\t0.00\t0.00\t147.01\t0.00" in out.getvalue()
    journal = io.StringIO()
    call_command("revenue_report", "--month", "2026-01", "--journal", stdout=journal)
    lines = journal.getvalue().splitlines()
    assert lines[0] == "date,account,debit,credit,currency,memo,invoice"
    assert f"2026-01-01,1200,290.00,0.00,usd,Invoiced: starter,{schedule.invoice_id}" in lines
    assert (
        f"2026-01-31,4000,0.00,24.49,usd,Revenue recognised 2026-01: starter,{schedule.invoice_id}"
        in lines
    )


def test_account_codes_come_from_the_admin(db):
    from analytics.models import JournalAccount

    JournalAccount.objects.create(role="revenue", code="7000", name="Sales")
    assert revenue.account_codes()["revenue"] == "7000"
    assert revenue.account_codes()["deferred_revenue"] == "2400"


def test_revenue_report_command_rejects_a_bad_month(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("revenue_report", "--month", "2026-13")
