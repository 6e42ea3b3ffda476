"""Fixtures of the usage tests: an ingest API key client, clean Redis counters (Redis outlives the
rolled-back test transactions), and moto's S3 bucket (archives)."""

import pytest

from tests.conftest import new_client
from tests.s3 import s3_bucket, s3_endpoint, s3_storage  # noqa: F401  (the archive tests' bucket)


@pytest.fixture(autouse=True)
def _usage_caches_clean():
    from billing_project.redis import get_redis

    def clean():
        client = get_redis()
        for schema in ("t_acme", "t_globex"):
            keys = list(client.scan_iter(match=f"*:{schema}:usage:*", count=1000))
            if keys:
                client.delete(*keys)

    clean()
    yield
    clean()


@pytest.fixture
def ingest_client(tenant):
    from tenants.services import api_key_create

    _, secret = api_key_create(tenant=tenant, name="collector", role="ingest")
    client = new_client()
    client.credentials(HTTP_X_API_KEY=secret)
    return client


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks):
    """Run after-commit work (Redis counters, alerts) as a committed request would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def event(**overrides) -> dict:
    from django.utils import timezone

    body = {
        "resource_type": "api_calls",
        "quantity": "1",
        "unit": "requests",
        "period_start": timezone.now().isoformat(),
        "period_end": timezone.now().isoformat(),
        "source": "api",
    }
    body.update(overrides)
    return body
