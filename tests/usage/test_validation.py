"""usage.validation: what one event body becomes."""

import datetime as dt

import pytest

from usage.validation import event_parse

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
UNITS = {"api_calls": "requests"}


@pytest.mark.parametrize(
    ("raw", "fingerprint"),
    [
        (
            {
                "resource_type": "api_calls",
                "quantity": "12.50",
                "period_start": "2025-12-31T23:00:00Z",
                "transaction_id": "tx-1",
            },
            "5ef5c7b32ef328cf1d03161478888b90ede0aca1d8a698bc612a9d998bcdf7f9",
        ),
        (
            {
                "resource_type": "api_calls",
                "quantity": 1.5,
                "unit": "req",
                "period_start": "2025-12-31T23:00:00.123456+02:00",
                "period_end": "2025-12-31T23:30:00+02:00",
                "source": "s\tx\\y\nz é",
                "properties": {"b": [1, 2.5, {"z": None, "a": True}], "a": "ü\u2028"},
            },
            "7522f703c30ec273d1b01da4e9526af9fc12ed8f7123fcc6605ee8324b4544ef",
        ),
    ],
)
def test_an_events_fingerprint_never_changes(raw, fingerprint):
    # Stored with every event and compared with a repeat's (same Idempotency-Key, other body: 409):
    # these values were computed before ingest was made faster, and must stay.
    assert event_parse(raw, units=UNITS, now=NOW).fingerprint() == fingerprint


def test_a_batchs_memo_parses_each_event_as_without_it():
    from usage.validation import EventInvalid

    raws = [
        {"resource_type": "api_calls", "quantity": q, "period_start": t, "period_end": e}
        for q in ["1", 1, 1.0, "1.0", True, "-1", "x"]
        for t in ["2025-12-31T23:00:00Z", "2025-12-31T23:00:00+00:00", "2026-01-01T05:00:00Z", 5]
        for e in [None, "2025-12-31T22:00:00Z", "2025-12-31T23:00:00Z"]
    ]
    memo: dict = {}
    for _ in range(2):  # the second round finds every value in the memo
        for raw in raws:
            outcomes = []
            for kwargs in ({}, {"memo": memo}):
                try:
                    event = event_parse(raw, units=UNITS, now=NOW, **kwargs)
                    outcomes.append((event, str(event.quantity), event.fingerprint()))
                except EventInvalid as exc:
                    outcomes.append(exc.detail)
            assert outcomes[0] == outcomes[1], raw


def test_the_fingerprint_is_the_sha256_of_json_dumps_of_the_events_fields():
    import hashlib
    import json
    import random

    rng = random.Random(14)
    alphabet = ["a", "Z", "0", " ", '"', "\\", "/", "\t", "\n", "\x7f", "é", "漢", "🙂", "\u2028"]

    def text(n=8):
        return "".join(rng.choice(alphabet) for _ in range(rng.randrange(n)))

    for _ in range(300):
        properties = rng.choice(
            [{}, {text(): text()}, {"n": [1, 2.5, None, True, {text(): -3}], text(): {"b": 1}}]
        )
        raw = {
            "resource_type": "api_calls",
            "quantity": rng.choice(["1", "1.500000", "0", 2.25, 7, "1E+3"]),
            "period_start": "2025-12-31T23:00:00.5+05:00",
            "unit": text(30) or None,
            "source": text() or None,
            "transaction_id": rng.choice([None, text(20) + "x"]),
            "properties": properties,
        }
        event = event_parse(raw, units=UNITS, now=NOW)
        # The formula every stored fingerprint was computed with.
        body = json.dumps(
            [
                event.resource_type,
                str(event.quantity.normalize()),
                event.unit,
                event.period_start.isoformat(),
                event.period_end.isoformat(),
                event.source,
                event.transaction_id,
                event.properties,
            ],
            sort_keys=True,
            default=str,
        )
        assert event.fingerprint() == hashlib.sha256(body.encode()).hexdigest(), raw
