"""Fixtures of the analytics tests: the subscriptions tests' Stripe emulator, catalog and webhook
forwarder, with every tenant's test clock starting at a fixed date (no test depends on today)."""

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from tests.subscriptions.conftest import (  # noqa: F401 -- fixtures shared with the subscriptions tests
    Forwarder,
    billing_admin_client,
    catalog,
    finance_admin,
    hooks,
    other_client,
    stripe_on,
    subscribe,
)

START = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


def pytest_configure(config):
    if not config.pluginmanager.has_plugin("stripe_emulator.pytest_plugin"):
        config.pluginmanager.import_plugin("stripe_emulator.pytest_plugin")


@pytest.fixture
def fixed_clock(monkeypatch):
    """New test clocks start at START (2026-01-15 12:00 UTC) instead of the real time."""
    from billing_project.stripe_gateway import clocks

    monkeypatch.setattr(clocks, "time", SimpleNamespace(time=lambda: int(START.timestamp())))
    return START


@pytest.fixture
def world(catalog, hooks, fixed_clock):  # noqa: F811
    """The catalog synced to the emulator, the webhook forwarder and the fixed clock start."""
    return SimpleNamespace(catalog=catalog, hooks=hooks, start=fixed_clock)
