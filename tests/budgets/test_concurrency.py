"""Workers checking the same budget at the same moment send each threshold's alert once per period.

Each thread runs the check on its own database connection, so the once-per-(tenant, period,
threshold) unique row meets really concurrent transactions. Their commits outlive the test's
rolled-back transaction, so the test works in globex and removes its rows afterwards. The spend is
fixed and the billing event recorded by a stand-in (the real ones are covered end to end by
test_spend.py through the emulator)."""

import threading
from datetime import UTC, datetime, timedelta

import pytest

from budgets import selectors, services
from budgets.models import Budget, BudgetAlert
from tests.concurrency import at_once, committed

pytestmark = pytest.mark.django_db

ROUNDS = 4
WORKERS = 4
START = datetime(2026, 1, 1, tzinfo=UTC)


def _cleanup(tenant) -> None:
    BudgetAlert.objects.filter(tenant=tenant).delete()
    Budget.objects.filter(tenant=tenant).delete()


@pytest.fixture
def committed_budget(other_tenant, monkeypatch):
    sent: list[tuple[str, int]] = []
    lock = threading.Lock()

    def emit(**kwargs):
        with lock:
            sent.append((kwargs["data"]["period_start"], kwargs["data"]["threshold"]))

    monkeypatch.setattr("notifications.events.billing_event_emit", emit)
    period = {"start": START}

    def spend_get(*, tenant, currency=None):
        return selectors.Spend(
            currency="usd",
            subscription=10_000,  # the whole budget: every threshold is reached
            usage=0,
            usage_projected=0,
            period_start=period["start"],
            period_end=period["start"] + timedelta(days=30),
            now=period["start"] + timedelta(days=1),
        )

    monkeypatch.setattr(selectors, "spend_get", spend_get)
    committed(lambda: _cleanup(other_tenant))
    committed(lambda: Budget.objects.create(tenant=other_tenant, amount=10_000, currency="usd"))
    yield other_tenant, period, sent
    committed(lambda: _cleanup(other_tenant))


def test_concurrent_checks_send_each_threshold_once_per_period(committed_budget):
    tenant, period, sent = committed_budget
    for n in range(ROUNDS):
        period["start"] = START + timedelta(days=31 * n)
        fired: list[int] = []

        def check(fired=fired):
            fired.extend(services.budget_check(tenant=tenant))

        at_once(*[check] * WORKERS)
        assert sorted(fired) == [50, 80, 100], fired  # whoever won, each once

    alerts = BudgetAlert.objects.filter(tenant=tenant)
    assert alerts.count() == 3 * ROUNDS
    assert len(sent) == 3 * ROUNDS and len(set(sent)) == 3 * ROUNDS
