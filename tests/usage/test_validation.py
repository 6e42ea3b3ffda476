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


def test_the_quick_path_parses_every_event_as_the_field_by_field_path_does():
    # event_parse reads a well-formed event with a few comparisons (usage.validation._event_plain)
    # and hands anything else to _event_parse: both must agree on every input, errors included.
    import itertools
    import random

    from usage.validation import EventInvalid, _event_parse

    rng = random.Random(21)
    values = {
        "resource_type": ["api_calls", "nope", 5, None, "x" * 65, "a\x00"],
        "quantity": ["1", 2, 0.5, "1e3", "-1", "x", True, None, "1.0000001", "1e24", " 3 "],
        "period_start": [
            "2025-12-31T23:00:00Z",
            "2025-12-31T23:00:00.123456+00:00",
            "2025-12-31T23:00:00+00:00",
            " 2025-12-31T23:00:00+00:00 ",
            "2025-12-31T23:00:00.5+05:00",
            "2025-12-31 23:00:00",
            "2025-W53-3T23:00:00+00:00",
            "20251231T230000+00:00",
            "2025-12-31T23:00:00,123456+00:00",
            "2025-12-31T23:00:00+23:00",
            "2026-01-01T00:10:00Z",
            "0001-01-01T00:00:00+01:00",
            "2025-12-31",
            "nope",
            5,
            None,
        ],
        "period_end": [None, "2025-12-31T23:30:00Z", "2025-12-31T22:00:00Z", "x", 1],
        "unit": [None, "req", "", "u" * 33, 3, "a\ud800"],
        "source": [None, "s", "", "s" * 65, ["s"]],
        "transaction_id": [None, "tx", " ", "", "t" * 256, 7, "tab\there"],
        "properties": [None, {}, {"a": 1}, [], "x", {"a\x00": 1}, {"d": {"d": {"d": 1}}}],
    }
    names = list(values)
    raws: list = [None, [], "x", {"resource_type": "api_calls", "quantity": 1, "x": 1}]
    for _ in range(3000):
        raw = {}
        for name in names:
            if rng.random() < 0.85:
                raw[name] = rng.choice(values[name])
        raws.append(raw)
    # And every timestamp with an otherwise good event.
    for start, end in itertools.product(values["period_start"], values["period_end"]):
        raws.append(
            {
                "resource_type": "api_calls",
                "quantity": "1",
                "period_start": start,
                "period_end": end,
            }
        )
    memo: dict = {}
    texts: dict = {}
    for raw in raws:
        outcomes = []
        for parse in (
            lambda raw: event_parse(raw, units=UNITS, now=NOW, memo=memo, texts=texts),
            lambda raw: _event_parse(raw, units=UNITS, now=NOW),
        ):
            try:
                event = parse(raw)
                outcomes.append((event, str(event.quantity), event.fingerprint()))
            except EventInvalid as exc:
                outcomes.append(exc.detail)
        assert outcomes[0] == outcomes[1], raw
    # The texts it kept are each timestamp's isoformat, exactly.
    assert len(texts) == 2  # the two texts of the usual form among them
    assert all(at.isoformat() == text for at, text in texts.items())


def test_kept_timestamp_texts_are_their_isoformat():
    from usage.validation import _timestamp_plain

    texts: dict = {}
    for text in [
        "2025-12-31T23:00:00.123456+00:00",
        "2025-12-31T23:00:00.000000+00:00",  # isoformat leaves out a zero fraction
        "2025-12-31T23:00:00+00:00",
        "2025-12-31T23:00:00.100000+00:00",
        "2025-12-31T23:00:00.1+00:00",
        "2025-12-31T23:00:00.123+00:00",
        "2025-12-31T23:00:00Z",
        "2025-12-31t23:00:00+00:00",
        "2025-12-31 23:00:00+00:00",
        "2025-12-31T23:00+00:00",
        "2025-12-31T23:00:00-00:00",
        "2025-12-31T23:00:00.123456+00:00:00",
        "2026-W01-3T23:00:00.123456+00:00",
        "2025-365T23:00:00.123456+00:00",
        "20251231T230000.123456+00:00",
        "2025-12-31T230000.123456+00:00",
        "2025-12-31T23:00:00,123456+00:00",
        "2025-12-31T23:00:00.123456+00",
        "2025-12-31T23:00:00.123456",
    ]:
        texts.clear()
        _timestamp_plain(text, texts)  # None for a form fromisoformat does not read
        assert all(key.isoformat() == kept for key, kept in texts.items()), text
    assert _timestamp_plain("2025-12-31T23:00:00.123456+00:00", texts) is not None
    assert texts  # the usual form is kept
