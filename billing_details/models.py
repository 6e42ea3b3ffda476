"""Who the invoice is addressed to (per tenant) and who issues it (the platform, one row)."""

from __future__ import annotations

from django.core.validators import RegexValidator
from django.db import models

from tenants.models import Tenant

COLOR = RegexValidator(r"^#[0-9a-fA-F]{6}$", "A colour like #1f6feb.")


class BillingDetails(models.Model):
    """The tenant as a buyer: printed on its invoices and kept on its Stripe customer."""

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="billing_details")
    legal_name = models.CharField(max_length=200, blank=True)
    emails = models.JSONField(
        default=list, blank=True, help_text="Addresses that receive the invoices (up to 5)."
    )
    line1 = models.CharField("address line 1", max_length=200, blank=True)
    line2 = models.CharField("address line 2", max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    state = models.CharField("state / province", max_length=100, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2, e.g. BR")
    tax_ids = models.JSONField(
        default=list,
        blank=True,
        help_text='[{"type": "br_cnpj", "value": "..."}]: Stripe\'s tax ID types, validated per type.',
    )
    po_number = models.CharField(
        "purchase order / memo", max_length=140, blank=True, help_text="Printed on every invoice."
    )
    locale = models.CharField(
        "invoice language",
        max_length=8,
        choices=Tenant.Locale.choices,
        blank=True,
        help_text="Language of the invoices (default: the tenant's).",
    )
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "billing details"
        verbose_name_plural = "billing details"

    def __str__(self) -> str:
        return self.legal_name or str(self.tenant)


class SellerProfile(models.Model):
    """The platform as the seller on every invoice; one row, edited by staff (settings are the
    defaults until it exists)."""

    singleton = models.BooleanField(default=True, unique=True, editable=False)
    legal_name = models.CharField(max_length=200)
    address = models.TextField(blank=True)
    tax_id = models.CharField("tax ID", max_length=64, blank=True)
    logo = models.FileField(
        upload_to="seller/", blank=True, help_text="PNG, JPEG or SVG, printed at the top left."
    )
    color = models.CharField(max_length=7, default="#1f6feb", validators=[COLOR])
    footer = models.CharField(max_length=300, blank=True, help_text="Legal footer of every page.")
    support_email = models.EmailField(blank=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "seller (invoice issuer)"
        verbose_name_plural = "seller (invoice issuer)"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(singleton=True), name="seller_profile_one_row"
            )
        ]

    def __str__(self) -> str:
        return self.legal_name
