"""Beat with tenants present: the schedule is read from public (where django_celery_beat's tables
live) without "duplicate periodic task name", at start and at every re-sync, and entries still fan out
to every tenant (or run once in public)."""

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from celery.schedules import crontab
from celery.schedules import schedule as celery_schedule
from tenant_schemas_celery.task import headers_with_schema

from billing_project.beat import BillingBeatScheduler, sent_in_this_period
from billing_project.celery import app


@pytest.fixture
def scheduler(db, tenant, other_tenant, monkeypatch):
    sent = []

    def apply_async(entry, producer=None, advance=True, **kwargs):
        # The schema the worker will run the task in: the entry's header, else the connection's
        # when sent (what tenant-schemas-celery's Task.apply_async puts in the message).
        headers = headers_with_schema(entry.options.get("headers"))
        sent.append((entry.name, headers["_schema_name"]))
        return SimpleNamespace(id=f"task-{len(sent)}")

    # Beat's connection housekeeping (close_old_connections) would end the test's transaction.
    monkeypatch.setattr("django_celery_beat.schedulers.close_old_connections", lambda: None)
    beat = BillingBeatScheduler(app=app, lazy=True)
    monkeypatch.setattr(beat, "apply_async", apply_async)
    beat.sent = sent
    return beat


def test_the_schedule_is_read_once_from_public_at_start_and_at_every_resync(scheduler):
    scheduler.setup_schedule()  # beat's start: writes the PeriodicTask rows (public) from beat_schedule
    first = scheduler.all_as_schedule()
    # What beat does every 5 minutes, and at a restart when the rows already exist.
    again = scheduler.all_as_schedule()
    expected = {
        f"{name}@{(entry.get('tenant_schemas') or ['__all_tenants_only__'])[0]}"
        for name, entry in app.conf.beat_schedule.items()
    }
    # Daily crontab entries far from the current hour are left out by django_celery_beat until
    # closer; every other entry is there, once.
    assert set(first) <= expected and set(again) == set(first)
    assert "notifications-retry-sweep@__all_tenants_only__" in first
    assert "subscriptions-metrics-refresh@public" in first
    assert scheduler.Changes.last_change() is not None


def test_due_entries_fan_out_to_every_tenant_or_run_once_in_public(scheduler, tenant, other_tenant):
    tenant_schemas = [tenant.schema_name, other_tenant.schema_name]
    scheduler.setup_schedule()
    schedule = (
        scheduler.all_as_schedule()
    )  # as after a re-sync: the entries as read from the database

    scheduler.apply_entry(schedule["notifications-retry-sweep@__all_tenants_only__"])
    scheduler.apply_entry(schedule["subscriptions-metrics-refresh@public"])

    assert sorted(scheduler.sent) == sorted(
        [
            ("notifications-retry-sweep@__all_tenants_only__", tenant_schemas[0]),
            ("notifications-retry-sweep@__all_tenants_only__", tenant_schemas[1]),
            ("subscriptions-metrics-refresh@public", "public"),
        ]
    )


def test_an_entry_is_never_sent_twice_in_one_period_by_one_process(scheduler, tenant, other_tenant):
    scheduler.setup_schedule()
    entry = scheduler.all_as_schedule()["subscriptions-metrics-refresh@public"]
    scheduler.apply_entry(entry)
    scheduler.apply_entry(entry)  # a re-read heap offering it again at once
    assert scheduler.sent == [("subscriptions-metrics-refresh@public", "public")]

    # A period later it is due again and goes.
    scheduler._sent_at[entry.name] -= timedelta(days=400)  # longer than any of our periods
    scheduler.apply_entry(entry)
    assert len(scheduler.sent) == 2


@pytest.mark.parametrize(
    "schedule",
    [celery_schedule(timedelta(seconds=15)), crontab(minute=0, hour=2)],
    ids=["every-15-seconds", "daily-at-2"],
)
def test_sent_in_this_period_refuses_only_before_the_next_due_time(schedule):
    sent = datetime(2026, 3, 10, 2, 0, 0, tzinfo=UTC)
    schedule.nowfun = lambda: sent
    next_due = sent + schedule.remaining_estimate(sent)
    assert next_due > sent

    def at(now):
        schedule.nowfun = lambda: now
        return sent_in_this_period(schedule, sent)

    assert at(sent + timedelta(milliseconds=40))
    assert not at(next_due)
    assert not at(next_due + timedelta(seconds=1))
    assert not sent_in_this_period(schedule, None)
