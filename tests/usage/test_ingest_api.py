"""POST /api/v1/usage and /usage/batch: storage, idempotency, validation, late events, roles."""

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from django_tenants.utils import tenant_context

from tests.conftest import assert_error
from tests.usage.conftest import event
from usage.models import UsageEvent, UsageEventKey, UsageRollup

pytestmark = pytest.mark.django_db

SEED_EXAMPLE = {
    "resource_type": "api_calls",
    "quantity": 100,
    "unit": "requests",
    "period_start": "2024-01-01T00:00:00Z",
    "period_end": "2024-01-31T23:59:59Z",
    "source": "api",
}


def api_calls_used(client) -> str:
    summary = client.get("/api/v1/usage/summary").json()
    return next(row["used"] for row in summary if row["resource_type"] == "api_calls")


def test_seed_loop_of_100_posts_counts_100(owner_client):
    # The seed README's loop, with naive utcnow() timestamps (read as UTC).
    for _ in range(100):
        now = datetime.utcnow()
        response = owner_client.post(
            "/api/v1/usage",
            {
                "resource_type": "api_calls",
                "quantity": 1,
                "unit": "requests",
                "period_start": now.isoformat(),
                "period_end": (now + timedelta(days=30)).isoformat(),
                "source": "api",
            },
            format="json",
        )
        assert response.status_code == 201, response.content
    assert api_calls_used(owner_client) == "100"


def test_seed_january_2024_example_is_accepted_as_a_late_event(owner_client, tenant):
    response = owner_client.post("/api/v1/usage", SEED_EXAMPLE, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["late"] is True and body["quantity"] == "100" and body["transaction_id"] is None
    assert body["billing_period_start"] == "2024-01-01T00:00:00Z" and body["event_id"]
    january = owner_client.get("/api/v1/usage/summary?period=2024-01").json()
    assert [
        (r["resource_type"], r["used"]) for r in january if r["resource_type"] == "api_calls"
    ] == [("api_calls", "100")]
    assert api_calls_used(owner_client) == "0"  # not counted against this month's limit
    with tenant_context(tenant):  # ...but billed by this period's invoice
        current = UsageRollup.objects.get(resource_type="api_calls", late_billed__gt=0)
        assert current.late_billed == 100 and current.period_start > datetime(
            2024, 2, 1, tzinfo=UTC
        )


def test_same_transaction_id_twice_answers_200_with_the_original_and_counts_once(owner_client):
    first = owner_client.post(
        "/api/v1/usage", event(quantity="5", transaction_id="tx-1"), format="json"
    )
    again = owner_client.post(
        "/api/v1/usage", event(quantity="5", transaction_id="tx-1"), format="json"
    )
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["event_id"] == first.json()["event_id"]
    assert api_calls_used(owner_client) == "5"


def test_same_idempotency_key_replays_and_another_body_is_a_conflict(owner_client):
    body = event(quantity="2")
    first = owner_client.post("/api/v1/usage", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = owner_client.post("/api/v1/usage", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == 201 and again.status_code == 200
    assert again.json() == first.json()
    other = owner_client.post(
        "/api/v1/usage", {**body, "quantity": "3"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    assert_error(other, 409, "idempotency_conflict")
    assert api_calls_used(owner_client) == "2"


def test_a_late_event_keeps_its_keys_through_the_copy_path(owner_client, tenant):
    """A late event touches two rollups and goes in by COPY, as a batch does: its key rows are
    `k:<Idempotency-Key>`, or `t:<transaction_id>` carrying the Idempotency-Key too, and a repeat
    of either answers the original."""
    late = {**SEED_EXAMPLE, "quantity": 3}
    by_key = owner_client.post("/api/v1/usage", late, format="json", HTTP_IDEMPOTENCY_KEY="lk-1")
    both = owner_client.post(
        "/api/v1/usage",
        {**late, "transaction_id": "late-tx-é"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="lk-2",
    )
    assert by_key.status_code == 201 and both.status_code == 201, (by_key.content, both.content)
    assert by_key.json()["late"] is True
    with tenant_context(tenant):
        keys = {k.key: (str(k.event_id), k.idempotency_key) for k in UsageEventKey.objects.all()}
    assert keys == {
        "k:lk-1": (by_key.json()["event_id"], "lk-1"),
        "t:late-tx-é": (both.json()["event_id"], "lk-2"),
    }
    again = owner_client.post("/api/v1/usage", late, format="json", HTTP_IDEMPOTENCY_KEY="lk-1")
    repeat = owner_client.post(
        "/api/v1/usage", {**late, "transaction_id": "late-tx-é"}, format="json"
    )
    assert again.status_code == 200 and again.json()["event_id"] == by_key.json()["event_id"]
    assert repeat.status_code == 200 and repeat.json()["event_id"] == both.json()["event_id"]
    january = owner_client.get("/api/v1/usage/summary?period=2024-01").json()
    assert [r["used"] for r in january if r["resource_type"] == "api_calls"] == ["6"]


def test_without_key_or_transaction_id_every_call_counts(owner_client):
    for _ in range(3):
        assert (
            owner_client.post("/api/v1/usage", event(quantity="1.5"), format="json").status_code
            == 201
        )
    assert api_calls_used(owner_client) == "4.5"


@pytest.mark.parametrize(
    "change, field",
    [
        ({"resource_type": "bananas"}, "resource_type"),
        ({"quantity": "-1"}, "quantity"),
        ({"quantity": "NaN"}, "quantity"),
        ({"quantity": "Infinity"}, "quantity"),
        ({"quantity": True}, "quantity"),
        ({"quantity": "1.1234567"}, "quantity"),
        ({"period_start": "yesterday"}, "period_start"),
        ({"period_end": "2020-01-01T00:00:00Z"}, "period_end"),
        ({"surprise": 1}, "surprise"),
        ({"properties": [1]}, "properties"),
    ],
)
def test_bad_events_are_400_with_the_field_and_nothing_is_stored(
    owner_client, tenant, change, field
):
    error = assert_error(
        owner_client.post("/api/v1/usage", event(**change), format="json"), 400, "invalid_request"
    )
    assert field in error["detail"]
    with tenant_context(tenant):
        assert UsageEvent.objects.count() == 0


def test_period_start_more_than_5_minutes_ahead_is_refused_but_a_future_period_end_is_fine(
    owner_client,
):
    now = datetime.now(UTC)
    ahead = owner_client.post(
        "/api/v1/usage",
        event(
            period_start=(now + timedelta(minutes=6)).isoformat(),
            period_end=(now + timedelta(days=1)).isoformat(),
        ),
        format="json",
    )
    assert "period_start" in assert_error(ahead, 400, "invalid_request")["detail"]
    soon = owner_client.post(
        "/api/v1/usage",
        event(
            period_start=(now + timedelta(minutes=4)).isoformat(),
            period_end=(now + timedelta(days=30)).isoformat(),
        ),
        format="json",
    )
    assert soon.status_code == 201


def test_ingest_roles(client_for, billing_admin, viewer, ingest_client):
    assert (
        client_for(billing_admin).post("/api/v1/usage", event(), format="json").status_code == 201
    )
    assert ingest_client.post("/api/v1/usage", event(), format="json").status_code == 201
    assert_error(
        client_for(viewer).post("/api/v1/usage", event(), format="json"), 403, "permission_denied"
    )
    assert_error(
        client_for(viewer).post("/api/v1/usage/batch", {"events": [event()]}, format="json"),
        403,
        "permission_denied",
    )


def test_batch_keeps_good_events_when_others_are_rejected(ingest_client, owner_client):
    events = [
        event(transaction_id="b-1", quantity="10"),
        event(quantity="-3"),
        event(transaction_id="b-1", quantity="10"),
        event(resource_type="nope"),
        event(quantity="7"),
    ]
    response = ingest_client.post("/api/v1/usage/batch", {"events": events}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["accepted"], body["duplicates"], body["rejected"]) == (2, 1, 2)
    assert [r["status"] for r in body["results"]] == [
        "accepted",
        "rejected",
        "duplicate",
        "rejected",
        "accepted",
    ]
    assert body["results"][2]["event_id"] == body["results"][0]["event_id"]
    assert body["results"][1]["error"]["code"] == "invalid_request"
    assert "quantity" in body["results"][1]["error"]["detail"]
    assert [r["index"] for r in body["results"]] == [0, 1, 2, 3, 4]
    assert api_calls_used(owner_client) == "17"
    again = ingest_client.post("/api/v1/usage/batch", {"events": events[:1]}, format="json").json()
    assert (again["accepted"], again["duplicates"]) == (0, 1)
    assert api_calls_used(owner_client) == "17"


def test_batch_limits_and_shape(ingest_client):
    too_many = ingest_client.post(
        "/api/v1/usage/batch", {"events": [event()] * 1001}, format="json"
    )
    assert "events" in assert_error(too_many, 400, "invalid_request")["detail"]
    assert_error(
        ingest_client.post("/api/v1/usage/batch", {"events": []}, format="json"),
        400,
        "invalid_request",
    )
    assert_error(
        ingest_client.post("/api/v1/usage/batch", {"events": [], "x": 1}, format="json"),
        400,
        "invalid_request",
    )
    full = ingest_client.post("/api/v1/usage/batch", {"events": [event()] * 1000}, format="json")
    assert full.status_code == 200 and full.json()["accepted"] == 1000


def test_tenant_a_never_sees_tenant_b_usage(owner_client, client_for, other_owner):
    owner_client.post(
        "/api/v1/usage", event(quantity="9", transaction_id="shared-id"), format="json"
    )
    globex = client_for(other_owner)
    # The same transaction_id is another tenant's own: it counts there too.
    assert (
        globex.post(
            "/api/v1/usage", event(quantity="1", transaction_id="shared-id"), format="json"
        ).status_code
        == 201
    )
    assert api_calls_used(globex) == "1" and api_calls_used(owner_client) == "9"
    assert [e["quantity"] for e in globex.get("/api/v1/usage/events").json()] == ["1"]
    report = (
        b"".join(globex.get("/api/v1/usage/report.csv").streaming_content).decode().splitlines()
    )
    assert len(report) == 2 and report[1].split(",")[2] == "1"


def test_a_batch_over_two_resources_leaves_each_counter_at_its_rollups_value(
    ingest_client, tenant, django_capture_on_commit_callbacks
):
    from usage import counters

    events = [
        event(quantity="3"),
        event(resource_type="storage_gb", unit="GB", quantity="5"),
        event(quantity="4"),
        event(resource_type="storage_gb", unit="GB", quantity="2"),
    ]
    with django_capture_on_commit_callbacks(execute=True):
        response = ingest_client.post("/api/v1/usage/batch", {"events": events}, format="json")
    assert response.json()["accepted"] == 4, response.content
    with tenant_context(tenant):
        stored = {
            r.resource_type: counters.counter_get(
                tenant.schema_name, r.resource_type, r.period_start
            )
            for r in UsageRollup.objects.all()
        }
    # api_calls sums, storage_gb keeps its maximum: both written by the one Redis call of the commit.
    assert stored == {"api_calls": 7, "storage_gb": 5}


def test_text_that_only_looks_like_a_nul_escape_is_stored_as_sent(ingest_client, owner_client):
    # An escaped backslash before "u0000" is no NUL: the parser's quick look sends such a body
    # through the full check, which accepts it.
    response = ingest_client.post(
        "/api/v1/usage", event(source="a\\u0000b", transaction_id="looks-like-nul"), format="json"
    )
    assert response.status_code == 201, response.content
    listed = owner_client.get("/api/v1/usage/events?transaction_id=looks-like-nul").json()
    assert [e["source"] for e in listed] == ["a\\u0000b"]


AWKWARD_TEXT = "tab\there, line\nbreak, cr\rreturn, back\\slash \\N \\., \b\f\v, é 漢字 🙂"


def test_a_batch_stores_text_with_copy_format_characters_as_sent(ingest_client, tenant):
    # Batches reach the database as COPY text, where tab, newline and backslash are syntax.
    sent = event(
        source=AWKWARD_TEXT[:64],
        unit="u\\t",
        transaction_id=f"tx\t{AWKWARD_TEXT}",
        properties={"path": "C:\\dir\tname\n", "note": AWKWARD_TEXT, "n": [1, 2.5, None]},
    )
    first = ingest_client.post("/api/v1/usage/batch", {"events": [sent]}, format="json").json()
    assert first["accepted"] == 1, first
    with tenant_context(tenant):
        stored = UsageEvent.objects.get()
    assert (stored.source, stored.unit, stored.transaction_id, stored.properties) == (
        sent["source"],
        "u\\t",
        sent["transaction_id"],
        sent["properties"],
    )
    assert str(stored.event_id) == first["results"][0]["event_id"]
    # The key went in as sent too: the same transaction_id is a duplicate of that event.
    again = ingest_client.post("/api/v1/usage/batch", {"events": [sent]}, format="json").json()
    assert (again["accepted"], again["duplicates"]) == (0, 1)
    assert again["results"][0]["event_id"] == first["results"][0]["event_id"]


def test_a_batch_event_is_stored_as_the_single_endpoint_stores_it(ingest_client, tenant):
    # The batch path writes its rows itself (COPY text); the single one through parameters.
    moment = "2024-01-02T03:04:05.123456+02:00"
    common = {
        "quantity": "12.5000",
        "period_start": moment,
        "period_end": moment,
        "source": "s\\1",
        "properties": {"b": {"z": 1, "a": "é"}, "a": True},
    }
    single = ingest_client.post(
        "/api/v1/usage", event(**common, transaction_id="one"), format="json"
    )
    assert single.status_code == 201, single.content
    batch = ingest_client.post(
        "/api/v1/usage/batch", {"events": [event(**common, transaction_id="two")]}, format="json"
    )
    assert batch.json()["accepted"] == 1, batch.content
    columns = [f.name for f in UsageEvent._meta.concrete_fields if f.name not in ("id", "event_id")]
    with tenant_context(tenant):
        one, two = (
            UsageEvent.objects.filter(transaction_id=t).values(*columns).get()
            for t in ("one", "two")
        )
    differ = ("transaction_id", "fingerprint", "received_at")
    assert {k: v for k, v in one.items() if k not in differ} == {
        k: v for k, v in two.items() if k not in differ
    }
    assert one["quantity"] == Decimal("12.5") and one["period_start"] == datetime(
        2024, 1, 2, 1, 4, 5, 123456, tzinfo=UTC
    )


def test_an_ingest_writes_counters_claims_and_metrics_to_redis_in_one_round_trip(
    ingest_client, tenant, django_capture_on_commit_callbacks, monkeypatch
):
    """After the commit: the counter, the budget and threshold debounce claims (the first ingest of
    a window takes them, the next does not) and the business counters, all in one command."""
    import redis

    from billing_project.business_metrics import series_key
    from billing_project.redis import get_redis
    from budgets.services import budget_check_debounce
    from commitments.services import usage_threshold_debounce
    from usage import counters
    from usage.metrics import EVENTS

    client = get_redis()
    claims = [budget_check_debounce(tenant=tenant), usage_threshold_debounce(tenant=tenant)]
    client.delete(*(key for key, _ in claims))
    due: list[str] = []
    monkeypatch.setattr(
        "budgets.services.budget_usage_recorded", lambda tenant: due.append("budget")
    )
    monkeypatch.setattr(
        "commitments.services.usage_threshold_check_soon", lambda tenant: due.append("threshold")
    )
    before = sum(int(v) for v in client.hgetall(series_key(EVENTS)).values())
    sent: list[bytes] = []
    send = redis.connection.Connection.send_packed_command

    def spy(self, command, check_health=True):
        sent.append(b"".join(command) if isinstance(command, list) else command)
        return send(self, command, check_health)

    monkeypatch.setattr(redis.connection.Connection, "send_packed_command", spy)
    for quantity in ("3", "4"):
        with django_capture_on_commit_callbacks() as after_commit:
            response = ingest_client.post("/api/v1/usage", event(quantity=quantity), format="json")
        assert response.status_code == 201, response.content
        sent.clear()
        for callback in after_commit:
            callback()
        assert len(sent) == 1 and sent[0].split(b"\r\n")[2] == b"EVALSHA", sent
    monkeypatch.undo()
    assert due == ["budget", "threshold"]  # claimed by the first ingest only
    assert all(client.ttl(key) > 0 for key, _ in claims)
    with tenant_context(tenant):
        rollup = UsageRollup.objects.get(resource_type="api_calls")
    assert counters.counter_get(tenant.schema_name, "api_calls", rollup.period_start) == 7
    assert sum(int(v) for v in client.hgetall(series_key(EVENTS)).values()) == before + 2


def test_a_new_batch_is_copied_straight_in_and_a_batch_with_a_stored_key_is_decided_per_event(
    ingest_client, owner_client, tenant
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    events = [event(transaction_id=f"c-{i}") for i in range(5)] + [event(quantity="2")]
    with CaptureQueriesContext(connection) as new:
        first = ingest_client.post("/api/v1/usage/batch", {"events": events}, format="json")
    assert first.json()["accepted"] == 6, first.content
    # No key repeated or taken: events and key rows were COPied into their tables (no staging),
    # each key row pointing at its event's row.
    assert not any("usage_ingest_staging" in q["sql"] for q in new.captured_queries)
    with tenant_context(tenant):
        keys = {
            k.key: (k.event_pk, k.event_id, k.period_start, k.idempotency_key)
            for k in UsageEventKey.objects.all()
        }
        stored = {
            f"t:{e.transaction_id}": (e.id, e.event_id, e.period_start, None)
            for e in UsageEvent.objects.exclude(transaction_id=None)
        }
        assert UsageEvent.objects.filter(transaction_id=None).count() == 1
    assert keys == stored and len(keys) == 5
    assert [str(v[1]) for k, v in sorted(keys.items())] == [
        r["event_id"] for r in first.json()["results"][:5]
    ]

    # One key of the next batch is stored already: its COPY fails and the staging path decides
    # event by event, keeping the new ones.
    with CaptureQueriesContext(connection) as repeat:
        again = ingest_client.post(
            "/api/v1/usage/batch",
            {"events": [event(transaction_id="c-new", quantity="4"), events[2]]},
            format="json",
        ).json()
    assert any("usage_ingest_staging" in q["sql"] for q in repeat.captured_queries)
    assert [r["status"] for r in again["results"]] == ["accepted", "duplicate"]
    assert again["results"][1]["event_id"] == first.json()["results"][2]["event_id"]
    assert api_calls_used(owner_client) == "11"
    with tenant_context(tenant):
        assert UsageEvent.objects.count() == 7 and UsageEventKey.objects.count() == 6


def test_the_single_event_statement_is_prepared_once_and_each_tenant_counts_in_its_own_schema(
    ingest_client, owner_client, client_for, other_owner
):
    """The statement is prepared on the server (issue 21); PostgreSQL parses it again when the
    search path changed, so the statement one tenant prepared never writes into its schema for
    another tenant."""
    from django.db import connection

    def runs() -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT coalesce(sum(generic_plans + custom_plans), 0) FROM pg_prepared_statements"
                " WHERE statement LIKE %s",
                ["%INSERT INTO usage_usageevent %"],
            )
            return cursor.fetchone()[0]

    globex = client_for(other_owner)
    before = runs()
    for client, quantity in ((ingest_client, "2"), (globex, "5"), (ingest_client, "3")):
        assert (
            client.post("/api/v1/usage", event(quantity=quantity), format="json").status_code == 201
        )
    assert runs() - before == 3
    assert api_calls_used(owner_client) == "5" and api_calls_used(globex) == "5"
    assert sorted(e["quantity"] for e in globex.get("/api/v1/usage/events").json()) == ["5"]


def test_behind_a_transaction_pooling_pgbouncer_nothing_is_prepared(settings):
    from django.db import connection

    from billing_project.db_backend.base import PreparedCursor

    with connection.prepared_cursor() as cursor:
        assert isinstance(cursor.cursor, PreparedCursor)
    settings.DB_TRANSACTION_POOLING = True
    # (PgBouncer 1.18 keeps no prepared statement from one server connection to the next.)
    with connection.prepared_cursor() as cursor:
        assert not isinstance(cursor.cursor, PreparedCursor)
    assert connection.get_connection_params()["prepare_threshold"] is None


def test_an_event_renders_as_drf_renders_it(tenant):
    """UsageEventOutput renders without DRF's per-field machinery (issue 21): for the ingest's
    answers (new and replayed) and for stored events (the list), field by field what DRF's own
    Serializer.to_representation gives, None, decimals, offsets and nested properties included."""
    from rest_framework import serializers

    from billing_project.timestamps import iso_utc
    from usage import services
    from usage.api.serializers import UsageEventOutput

    at = datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)
    answers = []
    for body in (
        event(period_start=at.isoformat(), period_end=at.isoformat()),
        event(
            quantity="12.500000",
            transaction_id="tx-render",
            properties={"user_id": "u1", "nested": {"a": [1, 2.5, None, "é"]}},
            period_start="2026-03-04T08:06:07+03:00",
            period_end="2026-03-05T00:00:00-05:00",
            source="collector",
        ),
        event(quantity=3, transaction_id="tx-render"),  # a repeat: answered with the original
        event(quantity="0.000001", period_start="2024-01-31T23:59:59Z"),  # late
    ):
        answers.append(services.usage_event_ingest(tenant=tenant, data=body)[0])
    with tenant_context(tenant):
        stored = list(UsageEvent.objects.order_by("id"))
    assert len(stored) == 3 and answers[2]["event_id"] == answers[1]["event_id"]
    for instance in (*answers, *stored):
        drf = serializers.Serializer.to_representation(UsageEventOutput(), instance)
        ours = UsageEventOutput(instance).data
        assert ours == drf and list(ours) == list(drf)
        assert {type(value) for value in ours.values()} <= {str, bool, dict, type(None)}
    assert UsageEventOutput(stored, many=True).data == [
        serializers.Serializer.to_representation(UsageEventOutput(), e) for e in stored
    ]
    assert answers[1]["properties"]["nested"] == {"a": [1, 2.5, None, "é"]}
    assert UsageEventOutput(answers[1]).data["period_start"] == "2026-03-04T05:06:07Z"
    assert UsageEventOutput(answers[1]).data["quantity"] == "12.5"
    assert UsageEventOutput(answers[0]).data["transaction_id"] is None
    # Times are written in UTC whatever offset they carry, microseconds kept.
    east = timezone(timedelta(hours=3))
    assert iso_utc(datetime(2026, 3, 4, 8, 6, 7, 5, tzinfo=east)) == "2026-03-04T05:06:07.000005Z"
