"""What every app's admin shares: amounts shown as money, and the read-only page of a record kept for
the books.

Every stored amount is an integer in minor units (150000 is $1,500.00 in USD, ¥150,000 in JPY): a
list that showed the integer invited finance staff to misread it a hundredfold, so every amount
column goes through `money_column`, in the row's currency and the admin's language.
"""

from collections.abc import Callable
from operator import attrgetter
from typing import Any

from django.contrib import admin
from django.utils import translation

from billing_project.money import money_format


def money_text(amount: int | None, currency: str) -> str:
    """An amount in minor units as money in the admin's language; "—" for none."""
    if amount is None:
        return "—"
    return money_format(amount, currency, translation.get_language() or "en")


def money_column(
    field: str, description: str, *, currency: str = "currency"
) -> Callable[[Any, Any], str]:
    """A ModelAdmin column (for list_display and readonly fields) showing the row's `field`, minor
    units, as money in the currency at the row's attribute path `currency` ("wallet.currency"),
    sortable by the field. Name a path's relation in list_select_related: one query, not one per row.

        amount_text = money_column("amount", "Amount")
    """
    currency_of = attrgetter(currency)

    @admin.display(description=description, ordering=field)
    def column(model_admin, row) -> str:
        return money_text(getattr(row, field), currency_of(row))

    return column


class MoneyAdmin(admin.ModelAdmin):
    """An admin whose `money_fields` (field -> the attribute path of the row's currency) read as
    money: each has a list column `<field>_text` (unless the class declares its own, for another
    label), and a page the user cannot change shows it in place of the stored integer."""

    money_fields: dict[str, str] = {}

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
