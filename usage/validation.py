"""Parsing of one usage event from a request body, shared by the single and the batch endpoint.

Plain Python rather than a DRF serializer per event: a batch of 1,000 events through serializers
costs more than its database work, and both endpoints must say exactly the same things.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from django.utils.dateparse import parse_datetime

from billing_project.api.fields import json_problem, text_problem, timestamp_to_utc

FIELDS = frozenset(
    {
        "resource_type",
        "quantity",
        "unit",
        "period_start",
        "period_end",
        "source",
        "transaction_id",
        "properties",
    }
)
REQUIRED = ("resource_type", "quantity", "period_start")
MAX_FUTURE = timedelta(minutes=5)
MAX_QUANTITY = Decimal("1e24")  # numeric(30, 6)
# `properties` are stored with every event and copied into reports: bounded so that one event cannot
# cost megabytes (issue 14 measured 1 MB accepted) or a deep recursion in a JSON encoder.
MAX_PROPERTIES_DEPTH = 32
MAX_PROPERTIES_BYTES = 16 * 1024  # compact JSON, UTF-8

T = TypeVar("T")


# What json.dumps(..., sort_keys=True, default=str) builds for every call, built once: the
# fingerprints of stored events must not change.
_FINGERPRINT_JSON = json.JSONEncoder(sort_keys=True, default=str)
# How that encoder writes a str (ensure_ascii): a fingerprint's list is written item by item with it
# (setting up the encoder cost more per event than the hash).
_json_text = json.encoder.encode_basestring_ascii


class EventInvalid(Exception):
    def __init__(self, detail: dict[str, list[str]]):
        self.detail = detail
        super().__init__(next(f"{k}: {v[0]}" for k, v in detail.items()))


# Not frozen: a frozen dataclass's __init__ cost five times a plain one's, once per event of a batch.
@dataclass(slots=True)
class EventIn:
    resource_type: str
    quantity: Decimal
    unit: str
    period_start: datetime
    period_end: datetime
    source: str
    transaction_id: str | None
    properties: dict[str, Any]

    def fingerprint(self) -> str:
        """The hash of the event's fields (event_fingerprint)."""
        return event_fingerprint(self, self.period_start.isoformat(), self.period_end.isoformat())


def fingerprint_head(event: EventIn) -> str:
    """The start of the event's fingerprint text: its resource type, quantity and unit (see
    event_fingerprint's `head`)."""
    return (
        f"[{_json_text(event.resource_type)}, "
        f'"{event.quantity.normalize()}", '
        f"{_json_text(event.unit)}, "
    )


def event_fingerprint(event: EventIn, start: str, end: str, head: str | None = None) -> str:
    """EventIn.fingerprint with its period's isoformat texts given: the sha256 of the JSON text of
    [resource_type, normalized quantity, unit, start, end, source, transaction_id, properties] as
    json.dumps(..., sort_keys=True, default=str) writes it. Timestamps and decimals are ASCII
    without a character JSON escapes, so they are quoted as they are. `head`, the event's
    fingerprint_head when the caller has it (a batch repeats its resource, quantity and unit)."""
    tx = event.transaction_id
    properties = event.properties
    body = (
        f"{fingerprint_head(event) if head is None else head}"
        f'"{start}", "{end}", '
        f"{_json_text(event.source)}, "
        f"{'null' if tx is None else _json_text(tx)}, "
        f"{_FINGERPRINT_JSON.encode(properties) if properties else '{}'}]"
    )
    return hashlib.sha256(body.encode()).hexdigest()


def _quantity(value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError('A number or a decimal string, e.g. "12.5".')
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("Must be finite.")
    try:
        # repr of a float is its shortest exact decimal form (0.1 -> "0.1").
        quantity = Decimal(repr(value) if isinstance(value, float) else str(value).strip())
    except InvalidOperation:
        raise ValueError("Not a number.") from None
    if not quantity.is_finite():
        raise ValueError("Must be finite.")
    if quantity < 0:
        raise ValueError("Must be >= 0.")
    exponent = quantity.as_tuple().exponent  # an int: quantity is finite here
    if quantity >= MAX_QUANTITY or (isinstance(exponent, int) and exponent < -6):
        raise ValueError("At most 24 digits before and 6 after the decimal point.")
    return quantity


def _timestamp(value: object) -> datetime:
    if not isinstance(value, str):
        raise ValueError("An ISO 8601 timestamp.")
    try:
        parsed = parse_datetime(value.strip())
    except ValueError:
        parsed = None
    if parsed is None:
        raise ValueError("An ISO 8601 timestamp, e.g. 2024-01-01T00:00:00Z.")
    return timestamp_to_utc(parsed)  # API.md: a timestamp without an offset is UTC


def _text(value: object, name: str, max_length: int, errors: dict[str, list[str]]) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        errors[name] = ["Must be a string."]
    elif len(value) > max_length:
        errors[name] = [f"At most {max_length} characters."]
    elif problem := text_problem(value):  # collectors call this too, not only the API's parser
        errors[name] = [problem]
    else:
        return value
    return None


def _properties_problem(properties: dict[str, Any]) -> str | None:
    problem = json_problem(properties, max_depth=MAX_PROPERTIES_DEPTH)
    if problem is not None:
        path, message = problem
        return message if path == "body" else f"{path}: {message}"
    if (
        len(json.dumps(properties, separators=(",", ":"), ensure_ascii=False).encode())
        > MAX_PROPERTIES_BYTES
    ):
        return f"At most {MAX_PROPERTIES_BYTES // 1024} KB as compact JSON."
    return None


def _parsed(memo: dict[Any, Any] | None, parse: Callable[[Any], T], value: Any) -> T:
    """parse(value), or its answer for an equal value of the same type parsed before into `memo`
    (a batch repeats its quantities and timestamps). Errors are not kept: they raise again."""
    if memo is None or type(value) not in (str, int, float):
        return parse(value)
    key = (parse, type(value), value)
    found = memo.get(key)
    if found is None:
        found = memo[key] = parse(value)
    return found


def _timestamp_plain(value: object, texts: dict[datetime, str] | None) -> datetime | None:
    """_timestamp(value) for a text that fromisoformat reads and whose offset is fine; None for
    anything else (which _timestamp then answers, errors included). A UTC text already in
    isoformat's form goes into `texts` (see event_parse)."""
    if type(value) is not str:
        return None
    text = value.strip()
    try:
        # parse_datetime tries fromisoformat first.
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is not UTC:
        try:
            return timestamp_to_utc(parsed)
        except ValueError:
            return None
    # timestamp_to_utc returns a UTC time itself (astimezone(UTC) of it is itself).
    if texts is not None and _isoformat_of(text, parsed):
        texts[parsed] = text
    return parsed


def _isoformat_of(text: str, parsed: datetime) -> bool:
    """Whether `text`, which fromisoformat read as `parsed` (UTC), is parsed.isoformat(): the
    extended form with its separators where isoformat puts them (not a week date, a basic form or a
    comma), "+00:00", and six fraction digits exactly when there are microseconds."""
    size = len(text)
    return (
        (size == 32 and text[19] == "." and parsed.microsecond != 0)
        or (size == 25 and parsed.microsecond == 0)
    ) and (
        text[4] == "-"
        and text[7] == "-"
        and text[10] == "T"
        and text[13] == ":"
        and text[16] == ":"
        and text.endswith("+00:00")
    )


def _event_plain(
    raw: dict[str, Any],
    units: dict[str, str],
    now: datetime,
    memo: dict[Any, Any] | None,
    texts: dict[datetime, str] | None,
) -> EventIn | None:
    """_event_parse(raw) for an event without any error, None for anything else: a batch's
    events are nearly all well formed, and this checks them with a few comparisons each; whatever
    it does not accept, _event_parse reads again and says what is wrong."""
    if not raw.keys() <= FIELDS:
        return None
    resource = raw.get("resource_type")
    quantity = raw.get("quantity")
    if type(resource) is not str or resource not in units or quantity is None:
        return None
    try:
        quantity = _parsed(memo, _quantity, quantity)
    except ValueError:
        return None
    start = _timestamp_plain(raw.get("period_start"), texts)
    if start is None or start > now + MAX_FUTURE:
        return None
    end = raw.get("period_end")
    if end is not None:
        end = _timestamp_plain(end, texts)
        if end is None or end < start:
            return None
    unit, source, transaction_id = raw.get("unit"), raw.get("source"), raw.get("transaction_id")
    # What _text accepts: None, or text not too long that PostgreSQL can store (one look at the
    # three texts together).
    if not (
        (unit is None or (type(unit) is str and len(unit) <= 32))
        and (source is None or (type(source) is str and len(source) <= 64))
        and (
            transaction_id is None
            or (
                type(transaction_id) is str
                and len(transaction_id) <= 255
                and transaction_id.strip()
            )
        )
        and text_problem(f"{unit or ''}{source or ''}{transaction_id or ''}") is None
    ):
        return None
    properties = raw.get("properties")
    if properties is not None and (
        type(properties) is not dict or (properties and _properties_problem(properties))
    ):
        return None
    # By position: keywords cost a batch a visible share of this function.
    return EventIn(
        resource,
        quantity,
        unit or units[resource],
        start,
        end or start,
        source or "api",
        transaction_id,
        properties or {},
    )


def event_parse(
    raw: Any,
    *,
    units: dict[str, str],
    now: datetime,
    memo: dict[Any, Any] | None = None,
    texts: dict[datetime, str] | None = None,
) -> EventIn:
    """Validate one event body. `units` maps each known resource type to its default unit; `memo`,
    a dict kept across the events of one batch, saves parsing the same value twice; `texts`, when
    given, receives timestamp -> isoformat text for the event's timestamps sent in that form
    (a batch writes them as text again: isoformat cost more than parsing)."""
    if type(raw) is dict and (event := _event_plain(raw, units, now, memo, texts)) is not None:
        return event
    return _event_parse(raw, units=units, now=now, memo=memo)


def _event_parse(
    raw: Any, *, units: dict[str, str], now: datetime, memo: dict[Any, Any] | None = None
) -> EventIn:
    """event_parse, field by field, with every error of the event."""
    if not isinstance(raw, dict):
        raise EventInvalid({"non_field_errors": ["Expected a JSON object."]})
    unknown = raw.keys() - FIELDS
    errors: dict[str, list[str]] = {name: ["Unknown field."] for name in sorted(unknown)}
    for name in REQUIRED:
        if raw.get(name) is None:
            errors[name] = ["This field is required."]
    resource = raw.get("resource_type")
    # A known resource type is a stored meter code (at most 64 characters, storable text).
    if type(resource) is not str or resource not in units:
        resource = _text(resource, "resource_type", 64, errors)
        if resource is not None and resource not in units:
            errors["resource_type"] = [f"Unknown resource type; known: {', '.join(sorted(units))}."]
    quantity = start = end = None
    if raw.get("quantity") is not None:
        try:
            quantity = _parsed(memo, _quantity, raw["quantity"])
        except ValueError as exc:
            errors["quantity"] = [str(exc)]
    if raw.get("period_start") is not None:
        try:
            start = _parsed(memo, _timestamp, raw["period_start"])
            if start > now + MAX_FUTURE:
                errors["period_start"] = ["Must not be more than 5 minutes in the future."]
        except ValueError as exc:
            errors["period_start"] = [str(exc)]
    if raw.get("period_end") is not None:
        try:
            end = _parsed(memo, _timestamp, raw["period_end"])
            if start is not None and end < start:
                errors["period_end"] = ["Must not be before period_start."]
        except ValueError as exc:
            errors["period_end"] = [str(exc)]
    unit = _text(raw.get("unit"), "unit", 32, errors)
    source = _text(raw.get("source"), "source", 64, errors)
    transaction_id = _text(raw.get("transaction_id"), "transaction_id", 255, errors)
    if transaction_id is not None and not transaction_id.strip():
        errors["transaction_id"] = ["Must not be blank."]
    properties = raw.get("properties")
    if properties is not None and not isinstance(properties, dict):
        errors["properties"] = ["Must be a JSON object."]
    elif properties and (problem := _properties_problem(properties)):
        errors["properties"] = [problem]
    if errors:
        raise EventInvalid(errors)
    # No error: the required fields were all given and parsed.
    assert resource is not None and quantity is not None and start is not None
    return EventIn(
        resource_type=resource,
        quantity=quantity,
        unit=unit or units[resource],
        period_start=start,
        period_end=end or start,
        source=source or "api",
        transaction_id=transaction_id,
        properties=properties or {},
    )
