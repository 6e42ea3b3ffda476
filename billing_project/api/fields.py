"""Serializer fields for the API's money, quantity and time conventions, a strict base serializer, and
the checks that keep text PostgreSQL cannot store out of the API."""

import copy
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar

from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from billing_project import money
from billing_project.timestamps import iso_utc


@extend_schema_field({"type": "string", "pattern": r"^-?\d+(\.\d{1,3})?$", "example": "29.00"})
class MoneyField(serializers.Field):
    """Integer minor units inside, a decimal string in major units outside ("29.00", JPY "2900").

    The currency is read from `currency_source` on the same object (default "currency") when
    rendering, and from the same key of the request body when parsing.
    """

    def __init__(self, *, currency_source: str = "currency", **kwargs):
        self.currency_source = currency_source
        kwargs.setdefault("help_text", "Decimal string in major units of `currency`.")
        super().__init__(**kwargs)

    def get_attribute(self, instance):
        amount = super().get_attribute(instance)
        if isinstance(instance, dict):
            currency = instance.get(self.currency_source)
        else:
            currency = getattr(instance, self.currency_source, None)
        return (amount, currency)

    def to_representation(self, value):
        amount, currency = value
        if amount is None:
            return None
        return money.to_major(amount, currency or "usd")

    def to_internal_value(self, data):
        if isinstance(data, (float, bool)) or not isinstance(data, (str, int)):
            raise serializers.ValidationError('Give money as a decimal string, e.g. "29.00".')
        body = getattr(self.parent, "initial_data", None)
        currency = body.get(self.currency_source, "usd") if isinstance(body, dict) else "usd"
        try:
            return money.to_minor(str(data), str(currency))
        except money.MoneyError as exc:
            raise serializers.ValidationError(str(exc)) from exc


MONEY_PATTERN = r"^\d{1,9}(\.\d{1,3})?$"


class MoneyString(serializers.RegexField):
    """An input amount as a decimal string only (API.md): a JSON number is refused, never read as
    money. Its currency is another field: turn it into minor units with exact_minor()."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 13)
        super().__init__(MONEY_PATTERN, **kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            raise serializers.ValidationError('Give money as a decimal string, e.g. "50.00".')
        return super().to_internal_value(data)


def exact_minor(text: str, currency: str, field: str = "amount") -> int:
    """A decimal string in the currency's major units -> minor units; more decimals than the
    currency has (e.g. "1.5" JPY) is a 400, never a silent rounding of someone's money."""
    from billing_project.api.exceptions import InvalidRequest

    exponent = Decimal(text).as_tuple().exponent  # an int: the serializers' patterns allow no NaN
    if isinstance(exponent, int) and exponent < -money.exponent(currency):
        raise InvalidRequest(
            f"{currency.upper()} has {money.exponent(currency)} decimal places.",
            detail={field: ["Too many decimal places for the currency."]},
        )
    return money.to_minor(text, currency)


@extend_schema_field({"type": "string", "example": "12.5"})
class QuantityField(serializers.DecimalField):
    """Usage quantities: decimal strings in and out, never floats."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_digits", 30)
        kwargs.setdefault("decimal_places", 6)
        kwargs.setdefault("coerce_to_string", True)
        super().__init__(**kwargs)

    def to_representation(self, value):
        if value is None:
            return None
        value = Decimal(value)
        text = format(value.normalize(), "f") if value != value.to_integral() else str(int(value))
        return text


class StrictSerializer(serializers.Serializer):
    """Rejects fields it does not know (API.md: unknown fields in a body are a 400), nested too."""

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError({"non_field_errors": ["Expected a JSON object."]})
        unknown = sorted(set(data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)


class _FieldsBuiltOnce:
    """Fields built once per serializer class; each instance gets its own copies. DRF builds them
    again for every instance (a ModelSerializer from the model's field mapping and each field's
    kwargs) and deep-copies its declared ones (re-running each field's __init__, choices and all):
    for one tenant that was most of the worker's own time in GET /api/v1/tenants/current, and a
    sixth of a single usage ingest (issue 21). A shallow copy is enough for output: binding a field
    to its serializer only sets the copy's own attributes (name, parent, source), and rendering
    reads the rest. Nested serializers are deep-copied as DRF does. Not for input (validators would
    share state) nor for fields that depend on the request or the instance."""

    def get_fields(self):
        built = type(self).__dict__.get("_output_fields")
        if built is None:
            built = super().get_fields()
            type(self)._output_fields = built  # one per class: __dict__, not inherited
        return {
            name: copy.deepcopy(field)
            if isinstance(field, serializers.BaseSerializer)
            else copy.copy(field)
            for name, field in built.items()
        }


class Output(_FieldsBuiltOnce, serializers.Serializer):
    """A response's serializer (see _FieldsBuiltOnce)."""


class FlatOutput(Output):
    """An Output of plain declared fields (no nested serializer, no method field, no `source`),
    rendered without DRF's per-answer work: copying and binding each field, then looking each value
    up through it. For the hot answers (a single usage event, the usage summary: issue 21), where
    that work was a tenth of the request's CPU. Each field's value renders as DRF renders it and
    None stays None, as in Serializer.to_representation; tests compare the two."""

    _built_renderers: ClassVar[list[tuple[str, Callable[[Any], Any]]]]

    def to_representation(self, instance):
        mapping = isinstance(instance, Mapping)  # a dict, or an object (model row, dataclass)
        shown = {}
        for name, render in self._renderers():
            value = instance[name] if mapping else getattr(instance, name)
            shown[name] = None if value is None else render(value)
        return shown

    @classmethod
    def _renderers(cls) -> list[tuple[str, Callable[[Any], Any]]]:
        """(name, how its value renders) per declared field, once per class: the field's own
        to_representation, except times, written as the API writes them (iso_utc) without DRF's
        look-up of the current time zone for each."""
        built = cls.__dict__.get("_built_renderers")
        if built is None:
            for name, field in cls._declared_fields.items():
                if isinstance(
                    field, (serializers.BaseSerializer, serializers.SerializerMethodField)
                ) or field.source not in (None, name):
                    raise TypeError(f"{cls.__name__}.{name} is not a plain field: use Output")
            built = [
                (
                    name,
                    iso_utc
                    if isinstance(field, serializers.DateTimeField)
                    else field.to_representation,
                )
                for name, field in cls._declared_fields.items()
            ]
            cls._built_renderers = built
        return built


class ModelOutput(_FieldsBuiltOnce, serializers.ModelSerializer):
    """A response's ModelSerializer (see _FieldsBuiltOnce)."""


class StrictSerializerSchema(OpenApiSerializerExtension):
    """The schema states what StrictSerializer enforces: request bodies take no other fields."""

    target_class = StrictSerializer
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        if direction == "request":
            schema["additionalProperties"] = False
        return schema


# PostgreSQL text cannot hold NUL, and UTF-8 (the database's and the wire's encoding) cannot hold a
# lone surrogate, which JSON's "\ud800" escape parses into: such text would fail deep inside a
# query (a 500) or an encoder, so it is refused where it enters.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def text_problem(value: str) -> str | None:
    """Why `value` cannot be stored as text, or None."""
    found = _UNSTORABLE.search(value)
    if found is None:
        return None
    if found.group() == "\x00":
        return "Must not contain the NUL character (\\u0000)."
    return "Must not contain an unpaired surrogate (\\ud800-\\udfff): not valid Unicode text."


def json_problem(value, *, max_depth: int, texts: bool = True) -> tuple[str, str] | None:
    """The first reason parsed JSON cannot be stored, as (dotted path, message): nesting deeper than
    `max_depth` or text (a key or a string) refused by text_problem. None when it is fine.
    `texts=False` checks the depth only (the caller knows no text can be refused), of `value` as
    a JSON parser returns it.
    Iterative, so that depth costs no recursion; a child's path is built only when reported."""
    if not texts:
        return _depth_problem(value, max_depth)
    stack: list[tuple[Any, int, tuple[Any, ...]]] = [(value, 1, ())]
    while stack:
        node, depth, path = stack.pop()
        if isinstance(node, str):
            if texts and (problem := text_problem(node)):
                return _dotted(path) or "body", problem
            continue
        if not isinstance(node, (dict, list)):
            continue
        if depth > max_depth:
            return _dotted(path) or "body", f"Nested more than {max_depth} levels deep."
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, child in items:
            if texts and isinstance(key, str) and (problem := text_problem(key)):
                return _dotted((*path, key)), f"Key: {problem}"
            if texts or isinstance(child, (dict, list)):
                stack.append((child, depth + 1, (*path, key)))
    return None


_CONTAINERS = (dict, list)


def _depth_problem(value, max_depth: int) -> tuple[str, str] | None:
    """json_problem(value, texts=False) for what a JSON parser returns (plain dicts and lists): the
    same walk in the same order, over the containers only, a container's values looked at by their
    types at once (a batch's 1,000 events hold none), each container remembering its parent instead
    of its path; the path of the one reported is found from the parents."""
    if type(value) not in _CONTAINERS:
        return None
    # (container, depth, parent's entry, key or index in the parent)
    stack: list[tuple[Any, int, Any, Any]] = [(value, 1, None, None)]
    while stack:
        entry = stack.pop()
        node, depth = entry[0], entry[1]
        if depth > max_depth:
            path = []
            while entry[2] is not None:
                path.append(entry[3])
                entry = entry[2]
            return _dotted(tuple(reversed(path))) or "body", (
                f"Nested more than {max_depth} levels deep."
            )
        values = node.values() if type(node) is dict else node
        kinds = set(map(type, values))
        if dict in kinds or list in kinds:
            items = node.items() if type(node) is dict else enumerate(node)
            stack.extend(
                (child, depth + 1, entry, key) for key, child in items if type(child) in _CONTAINERS
            )
    return None


def _dotted(path: tuple[Any, ...]) -> str:
    return ".".join(str(key) for key in path)


# Offsets in use on Earth run from -12:00 to +14:00; Python accepts up to +-23:59 but PostgreSQL
# refuses timestamps with offsets past +-15:59, so an odd offset must be a 400 here, not a 500 there.
UTC_OFFSETS = (timedelta(hours=-12), timedelta(hours=14))


def timestamp_to_utc(value: datetime) -> datetime:
    """An input timestamp in UTC (naive means UTC, API.md). ValueError when its offset is not a real
    one or it falls outside the years 1-9999 once in UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    offset = value.utcoffset()
    if offset is not None and not UTC_OFFSETS[0] <= offset <= UTC_OFFSETS[1]:
        raise ValueError("The UTC offset must be between -12:00 and +14:00.")
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("Out of range once converted to UTC (years 1-9999).") from None
