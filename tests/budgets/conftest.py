"""Fixtures of the spend budget tests: the subscriptions tests' Stripe emulator (reset per test,
catalog synced, test clocks on) and webhook forwarder, tasks run eagerly, and the budget's Redis
keys and usage counters dropped around each test (Redis outlives the rolled-back transactions)."""

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


@pytest.fixture(autouse=True)
def _budget_redis_clean():
    from billing_project.redis import get_redis

    def clean():
        client = get_redis()
        for schema in ("t_acme", "t_globex"):
            for pattern in (f"*:{schema}:budget:*", f"*:{schema}:usage:*"):
                keys = list(client.scan_iter(match=pattern, count=1000))
                if keys:
                    client.delete(*keys)

    clean()
    yield
    clean()


@pytest.fixture
def ingest_client(tenant):
    from tenants.services import api_key_create
    from tests.conftest import new_client

    _, secret = api_key_create(tenant=tenant, name="collector", role="ingest")
    client = new_client()
    client.credentials(HTTP_X_API_KEY=secret)
    return client


def put_budget(client, amount="100.00", currency="usd", hard_cap=False):
    return client.put(
        "/api/v1/budget",
        {"amount": amount, "currency": currency, "hard_cap": hard_cap},
        format="json",
    )
