"""Portal forms for SEPA Direct Debit accounts (IBAN and mandate acceptance)."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from stdnum import iban as stdnum_iban
from stdnum.exceptions import ValidationError as StdnumValidationError


class SepaDebitAddForm(forms.Form):
    iban = forms.CharField(label=_("IBAN"), max_length=64)
    account_holder = forms.CharField(label=_("Account holder"), max_length=200)
    mandate_accepted = forms.BooleanField(
        label=_("I accept the SEPA Direct Debit mandate above"),
        error_messages={"required": _("Accept the mandate to pay by SEPA Direct Debit.")},
    )
    set_default = forms.BooleanField(label=_("Make it the default payment method"), required=False)

    def clean_iban(self) -> str:
        try:
            return stdnum_iban.validate(self.cleaned_data["iban"])
        except StdnumValidationError:
            raise ValidationError(
                _("Enter a valid IBAN (e.g. DE89 3704 0044 0532 0130 00).")
            ) from None
