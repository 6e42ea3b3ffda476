"""One aggregation rule (usage.aggregation.FOLD) behind the SQL merge of the rollups, the Python
deltas of a batch and the selectors; ingest's column lists come from the models, rows by name."""

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace

import pytest

from usage import aggregation
from usage.models import UsageDailyRollup, UsageEvent, UsageRollup
from usage.services import ingest

T0 = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)


def test_fold_sums_counts_keeps_the_max_and_the_newest_value():
    held = {}
    for quantity, at in [
        (Decimal(5), T0),
        (Decimal(9), T0 - dt.timedelta(hours=1)),
        (Decimal(2), T0),
    ]:
        aggregation.fold(held, aggregation.event_part(quantity, at))
    assert held == {
        "total": Decimal(16),
        "event_count": 3,
        "max_value": Decimal(9),
        "last_value": Decimal(2),
        "last_at": T0,
    }
    aggregation.fold(
        held, {"late_billed": Decimal(4)}
    )  # a share without events of its own keeps the last value
    assert held["last_value"] == Decimal(2) and held["late_billed"] == Decimal(4)


@pytest.mark.parametrize(
    "start",
    [
        {},
        {"total": Decimal(0), "event_count": 0, "max_value": Decimal(0), "last_value": Decimal(0)},
    ],
)
def test_folding_one_event_is_folding_its_part(start):
    import random

    rng = random.Random(21)
    generic, quick = dict(start), dict(start)
    for _ in range(500):
        # Few distinct moments and quantities: ties of last_at and of the maximum happen.
        quantity = Decimal(rng.choice(["0", "1", "2.5", "1E+3", "0.000001"]))
        at = T0 + dt.timedelta(minutes=rng.randrange(5))
        aggregation.fold(generic, aggregation.event_part(quantity, at))
        aggregation.fold_events(quick, [quantity], [at])
        assert quick == generic
        assert [type(v) for v in quick.values()] == [type(v) for v in generic.values()]


@pytest.mark.parametrize(
    "start",
    [
        {},
        {"total": Decimal(0), "event_count": 0, "max_value": Decimal(0), "last_value": Decimal(0)},
        {
            "total": Decimal(7),
            "event_count": 2,
            "max_value": Decimal("1.0"),
            "last_value": Decimal(3),
            "last_at": T0 + dt.timedelta(minutes=2),
        },
        {"total": Decimal(1), "last_at": T0 + dt.timedelta(minutes=9)},
    ],
)
def test_folding_a_days_events_at_once_is_folding_them_one_by_one(start):
    import random

    rng = random.Random(14)
    for _ in range(400):
        one_by_one, at_once = dict(start), dict(start)
        events = [
            # Few distinct moments and quantities: ties of the newest moment and of the maximum
            # (equal quantities written differently) happen.
            (
                Decimal(rng.choice(["0", "0.00", "1", "1.0", "2.5", "1E+3", "0.000001"])),
                T0 + dt.timedelta(minutes=rng.randrange(4)),
            )
            for _ in range(rng.randint(1, 6))
        ]
        for quantity, at in events:
            aggregation.fold(one_by_one, aggregation.event_part(quantity, at))
        aggregation.fold_events(at_once, [q for q, _ in events], [at for _, at in events])
        assert at_once == one_by_one, events
        # The same objects where equal values could be written differently.
        assert str(at_once["max_value"]) == str(one_by_one["max_value"]), events
        assert str(at_once["last_value"]) == str(one_by_one["last_value"]), events


def test_the_sql_merge_is_generated_from_the_same_rule(monkeypatch):
    sql = aggregation.fold_sql("r", ["total", "max_value", "last_value"])
    assert (
        "total = r.total + EXCLUDED.total" in sql
        and "max_value = GREATEST(r.max_value, EXCLUDED.max_value)" in sql
    )
    assert "THEN EXCLUDED.last_value ELSE r.last_value END" in sql
    # Change the rule once: the SQL and the Python fold both follow.
    monkeypatch.setitem(aggregation.FOLD, "max_value", aggregation.SUM)
    assert "max_value = r.max_value + EXCLUDED.max_value" in aggregation.fold_sql(
        "r", ["max_value"]
    )
    assert aggregation.fold({"max_value": Decimal(2)}, {"max_value": Decimal(3)})[
        "max_value"
    ] == Decimal(5)


def test_the_ingest_statements_merge_every_aggregate_column_of_the_rollups():
    for statement, model, alias in [
        ("upsert_rollups", UsageRollup, "r"),
        ("upsert_days", UsageDailyRollup, "d"),
    ]:
        merge = ingest._statement(statement).split("DO UPDATE SET")[1]
        for field in model._meta.concrete_fields:
            if field.name in aggregation.FOLD:
                # Merged with the stored row (its alias) by the rule, not overwritten by the batch.
                assert aggregation.fold_sql(alias, [field.column]) in merge, (
                    statement,
                    field.name,
                )


def test_ingest_columns_are_the_models_fields():
    assert [f.name for f in ingest._EVENT] == [
        f.name for f in UsageEvent._meta.concrete_fields if f.name != "id"
    ]
    columns = ", ".join(f.column for f in ingest._EVENT)
    # The id is drawn by the statement itself (its key row points at it: usage.partitions).
    assert f"INSERT INTO usage_usageevent (id, {columns})" in ingest._statement("move_staging")
    assert f"COPY usage_ingest_staging ({columns})" in ingest._statement("copy_staging")
    assert f"COPY usage_usageevent (id, {columns})" in ingest._statement("copy_events")
    prefixed = ", ".join(f"e.{f.column}" for f in ingest._EVENT)
    assert f"{prefixed}\nFROM usage_usageeventkey k" in ingest._statement("select_existing")


def test_a_column_without_a_value_is_an_error_not_a_shift():
    from usage.validation import event_parse

    event = event_parse(
        {"resource_type": "api_calls", "quantity": 1, "period_start": T0.isoformat()},
        units={"api_calls": "calls"},
        now=T0,
    )
    prepared = ingest._Prepared(
        event=event, idempotency_key=None, billing_period_start=T0, billed_period_start=T0
    )
    row = ingest._event_row(prepared, T0)
    assert row[[f.name for f in ingest._EVENT].index("received_at")] == T0  # read by name
    with pytest.raises(KeyError):
        ingest._row(
            [*ingest._EVENT, SimpleNamespace(name="region")], ingest._event_values(prepared, T0)
        )


@pytest.mark.django_db
def test_the_batch_copy_rows_hold_what_psycopg_would_write_for_each_column(tenant):
    # Batches write COPY's binary format themselves (usage.services.ingest._copy_rows): every column
    # must read back as psycopg's write_row of the same event's row would.
    from django.db import connection

    from usage.schema import in_schema
    from usage.validation import event_parse

    awkward = "tab\there, line\nbreak, cr\rreturn, back\\slash \\N \\., \b\f\v, é 漢字 🙂"
    raws = [
        {"resource_type": "api_calls", "quantity": 1, "period_start": T0.isoformat()},
        {
            "resource_type": "api_calls",
            "quantity": "1E+3",
            "unit": awkward[:32],
            "period_start": "2026-01-04T10:00:00.5-03:00",
            "period_end": "2026-01-04T23:00:00Z",
            "source": awkward[:64],
            "transaction_id": awkward,
            "properties": {"a\tb": awkward, "n": [1.5, None, True, {"z": "\\"}]},
        },
    ]
    # Equal quantities written differently, parsed with a batch's memo (which shares their
    # Decimals): their fingerprints differ ("-0" normalizes to "-0").
    raws += [
        {"resource_type": "api_calls", "quantity": q, "period_start": T0.isoformat()}
        for q in ["0", "-0", 0, "0.00", "-0", "1", 1, "1.0", "0"]
    ]
    memo: dict = {}
    prepared = [
        ingest._Prepared(
            event=event_parse(raw, units={"api_calls": "calls"}, now=T0, memo=memo),
            idempotency_key=key,
            billing_period_start=T0,
            billed_period_start=T0 + dt.timedelta(days=31),
            late=late,
        )
        for raw, key, late in zip(
            raws,
            [None, f"k\\{awkward}", *[None] * (len(raws) - 2)],
            [False, True, *[False] * (len(raws) - 2)],
            strict=True,
        )
    ]
    columns = ", ".join(f.column for f in ingest._EVENT)
    with in_schema(tenant), connection.cursor() as cursor:
        cursor.execute(ingest._statement("create_staging"))
        with cursor.cursor.copy(ingest._statement("copy_staging")) as copy:
            copied = ingest._copy_rows(prepared, T0, ingest._moments())
            copy.write(ingest._copy_data(ingest._STAGED_ROW, copied.rows))
        cursor.execute(f"SELECT {columns} FROM {ingest._STAGING}")
        ours = cursor.fetchall()
        cursor.execute(f"DELETE FROM {ingest._STAGING}")
        with cursor.cursor.copy(f"COPY {ingest._STAGING} ({columns}) FROM STDIN") as copy:
            for p in prepared:
                copy.write_row(ingest._event_row(p, T0))
        cursor.execute(f"SELECT {columns} FROM {ingest._STAGING}")
        theirs = cursor.fetchall()
        cursor.execute(f"DELETE FROM {ingest._STAGING}")
    assert ours == theirs
    assert ours[1][[f.name for f in ingest._EVENT].index("transaction_id")] == awkward


def test_a_batchs_event_ids_are_random_uuid4s_written_as_str_writes_them():
    import uuid

    ids = ingest._event_ids(2000)
    parsed = [uuid.UUID(text) for text in ids]
    assert all(u.version == 4 and u.variant == uuid.RFC_4122 for u in parsed)
    assert [str(u) for u in parsed] == ids
    assert len(set(ids)) == 2000
    # Every digit outside the fixed version and variant bits varies.
    assert {text[19] for text in ids} == set("89ab")
    assert all(
        len({text[i] for text in ids}) == 16 for i in range(36) if i not in (8, 13, 14, 18, 19, 23)
    )
