"""The portal's billing details form: the API's fields, validated by the same service."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from billing_details.tax_ids import TAX_ID_TYPES
from portal.forms import ServiceForm
from tenants.models import Tenant

TAX_ID_TYPE_CHOICES = [("", _("(none)"))] + [(t, t) for t in TAX_ID_TYPES]
TAX_ID_ROWS = 3


class BillingDetailsForm(ServiceForm):
    legal_name = forms.CharField(label=_("Legal name"), max_length=200)
    emails = forms.CharField(
        label=_("Invoice emails"),
        max_length=1300,
        help_text=_("Comma-separated; they receive the invoices."),
    )
    line1 = forms.CharField(label=_("Address"), max_length=200, required=False)
    line2 = forms.CharField(label=_("Address (line 2)"), max_length=200, required=False)
    postal_code = forms.CharField(label=_("Postal code"), max_length=20, required=False)
    city = forms.CharField(label=_("City"), max_length=100, required=False)
    state = forms.CharField(label=_("State / province"), max_length=100, required=False)
    country = forms.CharField(
        label=_("Country (two letters)"), max_length=2, required=False, help_text="BR, DE, US, ..."
    )
    po_number = forms.CharField(label=_("Purchase order / memo"), max_length=140, required=False)
    locale = forms.ChoiceField(label=_("Invoice language"), choices=Tenant.Locale.choices)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for index in range(TAX_ID_ROWS):
            self.fields[f"tax_id_type_{index}"] = forms.ChoiceField(
                label=_("Tax ID type"), choices=TAX_ID_TYPE_CHOICES, required=False
            )
            self.fields[f"tax_id_value_{index}"] = forms.CharField(
                label=_("Tax ID"), max_length=64, required=False
            )

    @staticmethod
    def initial_from(details: dict) -> dict:
        initial = {
            "legal_name": details["legal_name"],
            "emails": ", ".join(details["emails"]),
            "po_number": details["po_number"],
            "locale": details["locale"],
            **details["address"],
        }
        for index, tax_id in enumerate(details["tax_ids"][:TAX_ID_ROWS]):
            initial[f"tax_id_type_{index}"] = tax_id["type"]
            initial[f"tax_id_value_{index}"] = tax_id["value"]
        return initial

    def tax_id_rows(self):
        return [
            (self[f"tax_id_type_{index}"], self[f"tax_id_value_{index}"])
            for index in range(TAX_ID_ROWS)
        ]

    def service_data(self) -> dict:
        data = self.cleaned_data
        tax_ids, self.tax_id_fields = [], []
        for index in range(TAX_ID_ROWS):
            kind, value = data[f"tax_id_type_{index}"], data[f"tax_id_value_{index}"].strip()
            if kind or value:
                tax_ids.append({"type": kind, "value": value})
                self.tax_id_fields.append(index)
        return {
            "legal_name": data["legal_name"],
            "emails": [e.strip() for e in data["emails"].split(",") if e.strip()],
            "address": {
                key: data[key]
                for key in ("line1", "line2", "city", "state", "postal_code", "country")
            },
            "tax_ids": tax_ids,
            "po_number": data["po_number"],
            "locale": data["locale"],
        }

    def place_errors(self, detail: dict) -> None:
        """The service's per-field errors (`address.city`, `tax_ids[1].value`) on this form's fields."""
        for name, problems in detail.items():
            field = name.split(".")[-1] if name.startswith("address.") else name
            if name.startswith("tax_ids["):
                position = int(name[len("tax_ids[") : name.index("]")])
                field = f"tax_id_value_{self.tax_id_fields[position]}"
            for problem in problems:
                self.add_error(field if field in self.fields else None, str(problem))
