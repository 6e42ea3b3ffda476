"""Serializer fields for the API's money and quantity conventions, and a strict base serializer."""

from decimal import Decimal

from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from billing_project import money


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
            raise serializers.ValidationError(str(exc))


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


class StrictSerializerSchema(OpenApiSerializerExtension):
    """The schema states what StrictSerializer enforces: request bodies take no other fields."""

    target_class = StrictSerializer
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        if direction == "request":
            schema["additionalProperties"] = False
        return schema
