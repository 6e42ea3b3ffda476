"""Staff edit a tenant's billing details (validated and synced as through the API) and the seller's
invoice block (legal name, address, tax ID, logo upload, colour, footer, support email)."""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages

from billing_details import services
from billing_details.models import BillingDetails, SellerProfile
from billing_project.errors import DomainError


class BillingDetailsForm(forms.ModelForm):
    tax_ids = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text='JSON: [{"type": "br_cnpj", "value": "11.222.333/0001-81"}] (Stripe\'s types)',
    )
    emails = forms.CharField(
        required=False, help_text="Comma-separated addresses that receive the invoices."
    )

    class Meta:
        model = BillingDetails
        fields = [
            "tenant",
            "legal_name",
            "emails",
            "line1",
            "line2",
            "city",
            "state",
            "postal_code",
            "country",
            "tax_ids",
            "po_number",
            "locale",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["tax_ids"] = json.dumps(self.instance.tax_ids or [])
            self.initial["emails"] = ", ".join(self.instance.emails or [])

    def clean_tax_ids(self):
        try:
            value = json.loads(self.cleaned_data["tax_ids"] or "[]")
        except ValueError:
            raise forms.ValidationError("Not valid JSON.") from None
        if not isinstance(value, list) or not all(isinstance(i, dict) for i in value):
            raise forms.ValidationError('A list like [{"type": "eu_vat", "value": "DE123456789"}].')
        return value

    def clean_emails(self):
        return [e.strip() for e in (self.cleaned_data["emails"] or "").split(",") if e.strip()]

    def clean(self):
        cleaned = super().clean()
        tenant = cleaned.get("tenant")
        if tenant is None or self.errors:
            return cleaned
        data = {
            "legal_name": cleaned.get("legal_name") or tenant.name,
            "emails": cleaned.get("emails") or [tenant.email],
            "address": {
                key: cleaned.get(key, "")
                for key in ("line1", "line2", "city", "state", "postal_code", "country")
            },
            "tax_ids": cleaned.get("tax_ids") or [],
            "po_number": cleaned.get("po_number", ""),
            "locale": cleaned.get("locale") or tenant.locale,
        }
        _clean, errors = services._validate(data)
        for field, problems in errors.items():
            name = field.split(".")[-1] if field.startswith("address.") else field.split("[")[0]
            self.add_error(name if name in self.fields else None, problems)
        self.service_data = data
        return cleaned


@admin.register(BillingDetails)
class BillingDetailsAdmin(admin.ModelAdmin):
    form = BillingDetailsForm
    list_display = ["tenant", "legal_name", "country", "po_number", "updated"]
    search_fields = ["tenant__slug", "tenant__name", "legal_name"]
    autocomplete_fields = ["tenant"]

    def save_model(self, request, obj, form, change):
        # Through the service: the same validation, audit row, Stripe sync and PDF re-render as the API.
        try:
            services.billing_details_update(
                tenant=obj.tenant, data=form.service_data, actor=request.user.email
            )
        except DomainError as exc:
            messages.error(request, f"Saved, but Stripe was not updated: {exc.message}")
        obj.pk = BillingDetails.objects.get(tenant=obj.tenant).pk

    def save_related(self, request, form, formsets, change):
        """Nothing related; the service saved the row."""


@admin.register(SellerProfile)
class SellerProfileAdmin(admin.ModelAdmin):
    list_display = ["legal_name", "tax_id", "support_email", "updated"]
    fields = ["legal_name", "address", "tax_id", "logo", "color", "footer", "support_email"]

    def has_add_permission(self, request):
        return super().has_add_permission(request) and not SellerProfile.objects.exists()

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        count = services.seller_profile_changed(profile=obj, actor=request.user.email)
        messages.info(request, f"{count} unpaid invoice PDF(s) are being rendered again.")
