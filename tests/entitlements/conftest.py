"""Fixtures of the prepaid credits tests: the subscriptions tests' Stripe emulator (reset per test,
catalog synced, test clocks on) and webhook forwarder, tasks run eagerly."""

import pytest

from tests.subscriptions.conftest import (  # noqa: F401 -- fixtures shared with these tests
    Forwarder,
    catalog,
    finance_admin,
    hooks,
    pytest_configure,
    stripe_on,
)


@pytest.fixture(autouse=True)
def _eager_tasks():
    from billing_project.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before
