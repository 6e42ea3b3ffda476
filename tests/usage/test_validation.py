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
