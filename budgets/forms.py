"""Portal form of the spend budget (the amount typed in major units, like the API)."""

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from billing_project import money
from billing_project.errors import DomainError
from portal.forms import ServiceForm


class BudgetForm(ServiceForm):
    amount = forms.DecimalField(
        label=_("Monthly budget"), min_value=Decimal("0.01"), max_digits=11, decimal_places=2
    )
    currency = forms.CharField(widget=forms.HiddenInput, max_length=3)
    hard_cap = forms.BooleanField(
        label=_("Stop usage when the budget is reached (hard cap)"), required=False
    )
    error_messages_by_code = {
        "currency_mismatch": _("A budget is set in the currency you are billed in."),
    }

    def call(self, service, **kwargs):
        """As ServiceForm, but a known code is said above the form in the visitor's language
        (the service names the hidden `currency` field, which the page does not show)."""

        def run():
            try:
                return service(**kwargs)
            except DomainError as exc:
                if exc.code in self.error_messages_by_code:
                    exc.detail = None
                raise

        return super().call(run)

    def minor(self) -> int:
        return money.to_minor(self.cleaned_data["amount"], self.cleaned_data["currency"])
