"""Idempotency-Key on the API's base views (issue 14, item 9): a repeat while the first request is
still running is `idempotency_in_progress` (not a conflict of bodies), a replay of an API key's
creation never shows its secret again, and a request that failed with a 500 leaves its key free."""

import pytest

from tests.conftest import assert_error

pytestmark = pytest.mark.django_db

KEY_BODY = {"name": "collector", "role": "ingest"}


def test_repeat_while_the_first_is_in_flight_is_in_progress_then_replays(owner_client, monkeypatch):
    from tenants import services

    create = services.api_key_create
    during = {}

    def create_while_repeated(**kwargs):
        # The same key and body arrive while this request has not answered yet.
        during["response"] = owner_client.post(
            "/api/v1/api-keys", KEY_BODY, format="json", HTTP_IDEMPOTENCY_KEY="same-key"
        )
        return create(**kwargs)

    monkeypatch.setattr(services, "api_key_create", create_while_repeated)
    first = owner_client.post(
        "/api/v1/api-keys", KEY_BODY, format="json", HTTP_IDEMPOTENCY_KEY="same-key"
    )
    assert first.status_code == 201, first.content
    concurrent = during["response"]
    assert_error(concurrent, 409, "idempotency_in_progress")
    assert int(concurrent["Retry-After"]) >= 1

    monkeypatch.setattr(services, "api_key_create", create)
    again = owner_client.post(
        "/api/v1/api-keys", KEY_BODY, format="json", HTTP_IDEMPOTENCY_KEY="same-key"
    )
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json()["api_key_id"] == first.json()["api_key_id"]
    other = owner_client.post(
        "/api/v1/api-keys",
        {**KEY_BODY, "name": "other"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="same-key",
    )
    assert_error(other, 409, "idempotency_conflict")


def test_replay_of_an_api_key_creation_does_not_show_the_secret_again(owner_client):
    from tenants.models import IdempotencyRecord

    first = owner_client.post(
        "/api/v1/api-keys", KEY_BODY, format="json", HTTP_IDEMPOTENCY_KEY="create-key"
    )
    assert first.status_code == 201 and first.json()["key"]
    secret = first.json()["key"]
    again = owner_client.post(
        "/api/v1/api-keys", KEY_BODY, format="json", HTTP_IDEMPOTENCY_KEY="create-key"
    )
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    body = again.json()
    assert (
        body["api_key_id"] == first.json()["api_key_id"]
        and body["prefix"] == first.json()["prefix"]
    )
    assert body["key"] is None
    assert secret not in again.content.decode()
    # ...nor is it kept in the stored response.
    assert not any(secret in str(r.response_body) for r in IdempotencyRecord.objects.all())


def test_a_request_that_failed_with_a_500_leaves_its_key_free_for_the_retry(
    owner_client, monkeypatch
):
    from tenants import services

    create = services.api_key_create

    def broken(**kwargs):
        raise RuntimeError("a bug")

    owner_client.raise_request_exception = False
    monkeypatch.setattr(services, "api_key_create", broken)
    failed = owner_client.post(
        "/api/v1/api-keys", KEY_BODY, format="json", HTTP_IDEMPOTENCY_KEY="retry-key"
    )
    assert failed.status_code == 500
    monkeypatch.setattr(services, "api_key_create", create)
    retry = owner_client.post(
        "/api/v1/api-keys", KEY_BODY, format="json", HTTP_IDEMPOTENCY_KEY="retry-key"
    )
    assert retry.status_code == 201, retry.content


def test_a_key_left_in_progress_by_a_dead_process_is_taken_over_by_the_retry(
    owner_client, settings
):
    """A worker killed mid-request never answers nor frees its key: past IDEMPOTENCY_IN_PROGRESS_SECONDS
    the retry does the work instead of being told "in progress" for the key's whole lifetime."""
    from datetime import timedelta

    from django.utils import timezone

    from tenants.models import IdempotencyRecord

    first = owner_client.post(
        "/api/v1/api-keys", KEY_BODY, format="json", HTTP_IDEMPOTENCY_KEY="orphan-key"
    )
    assert first.status_code == 201
    record = IdempotencyRecord.objects.get(key="orphan-key")
    # As the dead process left it: in progress, no response.
    IdempotencyRecord.objects.filter(pk=record.pk).update(status_code=None, response_body=None)

    recent = owner_client.post(
        "/api/v1/api-keys", KEY_BODY, format="json", HTTP_IDEMPOTENCY_KEY="orphan-key"
    )
    assert_error(recent, 409, "idempotency_in_progress")

    IdempotencyRecord.objects.filter(pk=record.pk).update(
        created=timezone.now() - timedelta(seconds=settings.IDEMPOTENCY_IN_PROGRESS_SECONDS + 1)
    )
    retry = owner_client.post(
        "/api/v1/api-keys", KEY_BODY, format="json", HTTP_IDEMPOTENCY_KEY="orphan-key"
    )
    assert retry.status_code == 201 and retry.json()["key"]
    assert IdempotencyRecord.objects.get(pk=record.pk).status_code == 201
    replay = owner_client.post(
        "/api/v1/api-keys", KEY_BODY, format="json", HTTP_IDEMPOTENCY_KEY="orphan-key"
    )
    assert (
        replay["Idempotent-Replayed"] == "true"
        and replay.json()["api_key_id"] == retry.json()["api_key_id"]
    )
