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
