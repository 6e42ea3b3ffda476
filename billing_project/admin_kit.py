"""What every app's admin shares: amounts shown and entered as money, and the read-only page of a
record kept for the books.

Every stored amount is an integer in minor units (150000 is $1,500.00 in USD, ¥150,000 in JPY). A
page that showed or asked for that integer invited finance staff to misread or mistype it a
hundredfold (29 for a $29.00 plan is $0.29), so every amount is shown through `money_column` or
`MoneyAdmin`, in the row's currency and the admin's language, and entered in major units through
`MajorUnitsForm`.
"""

from collections.abc import Callable
from decimal import Decimal
from operator import attrgetter
from typing import Any

from django import forms
from django.contrib import admin

from billing_project import money
from billing_project.money import money_text

# Where a row's currency is: an attribute path ("wallet.currency") or a function of the row.
Currency = str | Callable[[Any], str]


def money_column(
    field: str, description: str, *, currency: Currency = "currency"
) -> Callable[[Any, Any], str]:
    """A ModelAdmin column (for list_display and readonly fields) showing the row's `field`, minor
    units, as money in the row's `currency`, sortable by the field. Name the relations the currency
    is read through in list_select_related: one query, not one per row.

        amount_text = money_column("amount", "Amount")
    """
    currency_of = attrgetter(currency) if isinstance(currency, str) else currency

    @admin.display(description=description, ordering=field)
    def column(model_admin, row) -> str:
        return money_text(getattr(row, field), currency_of(row))

    return column


class MoneyAdmin(admin.ModelAdmin):
    """An admin whose `money_fields` (field -> where the row's currency is, as money_column) read as
    money: each has a list column `<field>_text` (unless the class declares its own, for another
    label), and a page the user cannot change shows it in place of the stored integer."""

    money_fields: dict[str, Currency] = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for field, currency in cls.money_fields.items():
            if not hasattr(cls, f"{field}_text"):
                label = field.replace("_", " ").capitalize()
                setattr(cls, f"{field}_text", money_column(field, label, currency=currency))

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or self.has_change_permission(request, obj):
            return fieldsets  # a form: its own fields say how amounts are entered
        # Read-only, every name of the fieldsets is shown as the admin's attribute or the field.
        return [
            (name, {**options, "fields": [self._shown(field) for field in options["fields"]]})
            for name, options in fieldsets
        ]

    def _shown(self, field):
        if isinstance(field, (list, tuple)):  # fields side by side on one line
            return [self._shown(each) for each in field]
        return f"{field}_text" if field in self.money_fields else field


class ReadOnlyAdmin(MoneyAdmin):
    """A record kept for the books (a ledger entry, a true-up, an alert sent): seen, never changed."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class MajorUnitsForm(forms.ModelForm):
    """A model form whose `major_units` fields, stored in minor units, are entered in major units of
    the currency in the form's `currency` field (the row's own when the form has none): "29.00" for
    a $29.00 price, "2900" for ¥2,900. More decimals than the currency has is an error, not a
    rounding. The `positive` ones must be more than zero (the model's constraint would say so in
    the database's words)."""

    major_units: tuple[str, ...] = ()
    positive: tuple[str, ...] = ()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        currency = self.amount_currency(self.initial)
        for name in self.major_units:
            if name not in self.fields:
                continue
            stored = self.fields[name]
            self.fields[name] = forms.DecimalField(
                label=stored.label,
                required=stored.required,
                min_value=0,
                max_digits=18,
                decimal_places=3,
                help_text="In the currency's major units: 29.00 is $29.00, 2900 is ¥2,900.",
            )
            value = self.initial.get(name)
            if value is not None and value != "":
                self.initial[name] = money.to_major(value, currency)

    def amount_currency(self, values: dict[str, Any]) -> str:
        """The currency the amounts are in, from the form's `values` (its initial ones, then the
        cleaned ones) or its row; a form whose currency comes from elsewhere says so here."""
        return (values.get("currency") or getattr(self.instance, "currency", "") or "usd").lower()

    def clean(self):
        cleaned = super().clean()
        currency = self.amount_currency(cleaned)
        places = money.exponent(currency)
        for name in self.major_units:
            value = cleaned.get(name)
            if not isinstance(value, Decimal):
                continue
            if name in self.positive and value <= 0:
                self.add_error(name, "Must be more than zero.")
                continue
            if value != value.quantize(Decimal(1).scaleb(-places)):
                self.add_error(
                    name,
                    f"{currency.upper()} amounts have at most {places} decimal places."
                    if places
                    else f"{currency.upper()} amounts are whole numbers.",
                )
                continue
            cleaned[name] = money.to_minor(value, currency)
        return cleaned
