"""Fixtures of the prepaid credits tests: the subscriptions tests' Stripe emulator (reset per test,
catalog synced, test clocks on) and webhook forwarder, tasks run eagerly."""

import pytest

from tests.invoicing.conftest import celery_eager  # noqa: F401 (fixture)
from tests.subscriptions.conftest import (  # noqa: F401 -- fixtures shared with these tests
    Forwarder,
    catalog,
    finance_admin,
    hooks,
    pytest_configure,
    stripe_on,
)


@pytest.fixture(autouse=True)
def _eager_tasks(celery_eager):  # noqa: F811 (the imported fixture)
    """Every test here runs its Celery tasks eagerly."""
