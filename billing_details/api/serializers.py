from rest_framework import serializers

from billing_details.tax_ids import TAX_ID_TYPES
from billing_project.api.fields import StrictSerializer
from tenants.models import Tenant


class AddressSerializer(StrictSerializer):
    line1 = serializers.CharField(allow_blank=True, required=False, max_length=200)
    line2 = serializers.CharField(allow_blank=True, required=False, max_length=200)
    city = serializers.CharField(allow_blank=True, required=False, max_length=100)
    state = serializers.CharField(allow_blank=True, required=False, max_length=100)
    postal_code = serializers.CharField(allow_blank=True, required=False, max_length=20)
    country = serializers.CharField(
        allow_blank=True, required=False, max_length=2, help_text="ISO 3166-1 alpha-2, e.g. BR"
    )


class TaxIdSerializer(StrictSerializer):
    type = serializers.ChoiceField(choices=TAX_ID_TYPES, help_text="Stripe's tax ID type")
    value = serializers.CharField(max_length=64)


class BillingDetailsInput(StrictSerializer):
    legal_name = serializers.CharField(required=False, max_length=200)
    emails = serializers.ListField(
        child=serializers.EmailField(max_length=254),
        required=False,
        min_length=1,
        max_length=5,
        help_text="1-5 addresses that receive the invoices (the first is the Stripe customer's)",
    )
    address = AddressSerializer(required=False)
    tax_ids = serializers.ListField(
        child=TaxIdSerializer(),
        required=False,
        max_length=5,
        help_text="Validated per type (CNPJ, CPF, EU VAT, GB VAT, EIN, ... checksums): an invalid "
        "one is a 400 with detail `tax_ids[<i>].value`",
    )
    po_number = serializers.CharField(
        required=False, allow_blank=True, max_length=140, help_text="Purchase order / invoice memo"
    )
    locale = serializers.ChoiceField(
        choices=Tenant.Locale.choices, required=False, help_text="Language of the invoices"
    )


class BillingDetailsReplaceInput(BillingDetailsInput):
    """PUT: the whole billing details; a field left out is cleared (the invoice language goes back
    to the tenant's)."""

    legal_name = serializers.CharField(max_length=200)
    emails = serializers.ListField(
        child=serializers.EmailField(max_length=254),
        min_length=1,
        max_length=5,
        help_text="1-5 addresses that receive the invoices (the first is the Stripe customer's)",
    )


class AddressOutput(serializers.Serializer):
    line1 = serializers.CharField()
    line2 = serializers.CharField()
    city = serializers.CharField()
    state = serializers.CharField()
    postal_code = serializers.CharField()
    country = serializers.CharField()


class TaxIdOutput(serializers.Serializer):
    type = serializers.CharField()
    value = serializers.CharField()


class BillingDetailsOutput(serializers.Serializer):
    legal_name = serializers.CharField()
    emails = serializers.ListField(child=serializers.CharField())
    address = AddressOutput()
    tax_ids = TaxIdOutput(many=True)
    po_number = serializers.CharField()
    locale = serializers.CharField()
