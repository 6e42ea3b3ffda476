"""Portal forms of prepaid credits (amounts typed in major units, like the API)."""

from decimal import Decimal
from typing import cast

from django import forms
from django.utils.translation import gettext_lazy as _

from billing_project import money
from portal.forms import DECLINE_REASONS, PAYMENT_ERROR_MESSAGES, ServiceForm

CREDIT_ERROR_MESSAGES = {
    **PAYMENT_ERROR_MESSAGES,
    "no_payment_method": _("Add a default payment method before buying credit."),
    "currency_mismatch": _("Credit must be bought in the currency you are billed in."),
    "authentication_required": DECLINE_REASONS["authentication_required"],
}


def _minor(value: Decimal | None, currency: str) -> int | None:
    return None if value is None else money.to_minor(value, currency)


class TopUpForm(ServiceForm):
    amount = forms.DecimalField(
        label=_("Amount"), min_value=Decimal("0.01"), max_digits=9, decimal_places=2
    )
    currency = forms.CharField(widget=forms.HiddenInput, max_length=3)
    error_messages_by_code = CREDIT_ERROR_MESSAGES

    def minor(self) -> int:
        # `amount` is a required field: never None.
        return cast(int, _minor(self.cleaned_data["amount"], self.cleaned_data["currency"]))


class CreditSettingsForm(ServiceForm):
    currency = forms.CharField(widget=forms.HiddenInput, max_length=3)
    auto_top_up_below = forms.DecimalField(
        label=_("Buy credit automatically when the balance falls below"),
        required=False,
        min_value=Decimal("0"),
        max_digits=9,
        decimal_places=2,
    )
    auto_top_up_amount = forms.DecimalField(
        label=_("Amount to buy automatically"),
        required=False,
        min_value=Decimal("0.01"),
        max_digits=9,
        decimal_places=2,
    )
    low_balance_below = forms.DecimalField(
        label=_("Notify me when the balance falls below"),
        required=False,
        min_value=Decimal("0"),
        max_digits=9,
        decimal_places=2,
    )
    error_messages_by_code = CREDIT_ERROR_MESSAGES

    def values(self) -> dict:
        currency = self.cleaned_data["currency"]
        return {
            name: _minor(self.cleaned_data.get(name), currency)
            for name in ("auto_top_up_below", "auto_top_up_amount", "low_balance_below")
        }
