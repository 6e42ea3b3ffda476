"""billing_project.db_backend.binary_copy: fields written in COPY's binary format read back as the
values they encode, edges included (before 2000, microseconds, offsets, big and small numerics,
non-ASCII text, NULLs)."""

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from django.db import connection

from billing_project.db_backend import binary_copy

UTC = dt.UTC
ROWS = [
    (
        dt.datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        Decimal("0"),
        "00000000-0000-4000-8000-000000000000",
        "",
        "{}",
        False,
        -(2**63),
    ),
    (
        dt.datetime(2026, 1, 4, 10, 0, 0, 500000, tzinfo=dt.timezone(dt.timedelta(hours=-3))),
        Decimal("123456789012345678901234.000001"),
        "6f1c1f4e-9a3b-4c2d-8e7f-0123456789ab",
        "é 漢字 🙂 tab\there \\N",
        '{"a": [1.5, null, true, {"z": "\\\\"}], "é": "漢"}',
        True,
        2**63 - 1,
    ),
    (dt.datetime(2100, 3, 1, tzinfo=UTC), Decimal("1E+3"), None, None, None, None, None),
]


@pytest.mark.django_db
def test_binary_copy_fields_read_back_as_the_values_they_encode():
    def field(encode, value):
        return binary_copy.NULL if value is None else encode(value)

    data = binary_copy.HEADER
    for at, number, id_, text, json_text, flag, big in ROWS:
        data += binary_copy.row_head(7) + b"".join(
            (
                binary_copy.timestamptz(at),
                binary_copy.numeric(number),
                binary_copy.NULL if id_ is None else binary_copy.uuid_texts([id_])[0],
                binary_copy.text(text),
                field(binary_copy.jsonb_text, json_text),
                binary_copy.NULL
                if flag is None
                else (binary_copy.TRUE if flag else binary_copy.FALSE),
                field(binary_copy.int8, big),
            )
        )
    data += binary_copy.TRAILER
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE binary_copy_check (at timestamptz, number numeric, id uuid, "
            "text varchar, json jsonb, flag boolean, big bigint)"
        )
        with cursor.cursor.copy("COPY binary_copy_check FROM STDIN (FORMAT BINARY)") as copy:
            copy.write(data)
        cursor.execute(
            "SELECT at, number, id, text, json::text, flag, big FROM binary_copy_check ORDER BY at"
        )
        read = cursor.fetchall()
        cursor.execute("DROP TABLE binary_copy_check")
    assert [row[0] for row in read] == [row[0] for row in ROWS]
    assert [row[1] for row in read] == [row[1] for row in ROWS]
    assert [row[2] for row in read] == [None if r[2] is None else uuid.UUID(r[2]) for r in ROWS]
    assert [row[3] for row in read] == [row[3] for row in ROWS]
    assert read[1][4] == '{"a": [1.5, null, true, {"z": "\\\\"}], "é": "漢"}'
    assert [row[5] for row in read] == [row[5] for row in ROWS]
    assert [row[6] for row in read] == [row[6] for row in ROWS]


@pytest.mark.django_db
def test_a_text_and_its_prefixed_text_read_back_from_one_encoding():
    """An event's transaction_id and its key row's `t:<transaction_id>`, written from one encoding
    of the text (binary_copy.text_prefixed), and a field of a given length (binary_copy.length)."""
    values = ["", "tx-1", "é 漢字 🙂 tab\there \\N", "x" * 255]
    data = binary_copy.HEADER
    for value in values:
        plain, prefixed = binary_copy.text_prefixed(value, b"t:")
        assert plain == binary_copy.text(value) and prefixed == binary_copy.text(f"t:{value}")
        fixed = binary_copy.length(3) + b"abc"
        data += binary_copy.row_head(3) + plain + prefixed + fixed
    data += binary_copy.TRAILER
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE prefixed_check (plain text, prefixed text, fixed text)"
        )
        with cursor.cursor.copy("COPY prefixed_check FROM STDIN (FORMAT BINARY)") as copy:
            copy.write(data)
        cursor.execute("SELECT plain, prefixed, fixed FROM prefixed_check")
        read = cursor.fetchall()
        cursor.execute("DROP TABLE prefixed_check")
    assert read == [(value, f"t:{value}", "abc") for value in values]


def test_a_memo_encodes_each_value_once():
    calls = []

    def encode(value):
        calls.append(value)
        return value.isoformat()

    memo = binary_copy.Memo(encode)
    at = dt.datetime(2026, 1, 4, tzinfo=UTC)
    assert [memo[at], memo[at], memo[at + dt.timedelta(seconds=1)]] == [
        "2026-01-04T00:00:00+00:00",
        "2026-01-04T00:00:00+00:00",
        "2026-01-04T00:00:01+00:00",
    ]
    assert calls == [at, at + dt.timedelta(seconds=1)]
