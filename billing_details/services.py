"""Writes of billing details (the buyer, per tenant) and of the seller profile (the platform).

Both are printed on the invoice PDF, so a change re-renders the PDFs of invoices not yet paid.
The buyer's details are also kept on the tenant's Stripe customer: name, email, address,
``preferred_locales``, ``invoice_settings.custom_fields`` (the PO number) and its tax IDs.
"""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django_tenants.utils import tenant_context

from billing_details.models import BillingDetails, SellerProfile
from billing_details.selectors import ADDRESS_KEYS, billing_details_get
from billing_details.tax_ids import tax_id_clean
from billing_project.errors import InvalidRequest
from billing_project.stripe_gateway import customers as stripe_customers
from billing_project.stripe_gateway.keys import op_key
from tenants.models import Tenant
from tenants.services import audit_record

STRIPE_LOCALES = {"en": "en", "pt-br": "pt-BR", "es": "es"}
MAX_EMAILS, MAX_TAX_IDS = 5, 5
FIELD_LIMITS = {"line1": 200, "line2": 200, "city": 100, "state": 100, "postal_code": 20}
COUNTRY = re.compile(r"^[A-Z]{2}$")


def _validate(data: dict) -> tuple[dict, dict]:
    """(clean values, per-field errors) of a partial update in the API's shape."""
    clean: dict[str, Any]
    errors: dict[str, list[str]]
    clean, errors = {}, {}
    if "legal_name" in data:
        name = str(data["legal_name"] or "").strip()
        if not name or len(name) > 200:
            errors["legal_name"] = ["Enter the legal name (up to 200 characters)."]
        clean["legal_name"] = name
    if "emails" in data:
        emails = [str(e).strip().lower() for e in data["emails"] or []]
        bad = []
        for email in emails:
            try:
                validate_email(email)
            except ValidationError:
                bad.append(email)
        if bad:
            errors["emails"] = [f"Not an email address: {', '.join(bad)}."]
        elif not emails or len(emails) > MAX_EMAILS:
            errors["emails"] = [f"Give 1 to {MAX_EMAILS} addresses."]
        clean["emails"] = list(dict.fromkeys(emails))
    if "address" in data:
        address = data["address"] or {}
        # Only the address lines given change (PATCH {"address": {"city": ...}} keeps the street).
        for key in (key for key in ADDRESS_KEYS if key in address):
            value = str(address.get(key) or "").strip()
            if key == "country":
                value = value.upper()
                if value and not COUNTRY.match(value):
                    errors["address.country"] = ["A two-letter country code (ISO 3166-1), e.g. BR."]
            elif len(value) > FIELD_LIMITS[key]:
                errors[f"address.{key}"] = [f"At most {FIELD_LIMITS[key]} characters."]
            clean[key] = value
    if "tax_ids" in data:
        tax_ids = data["tax_ids"] or []
        if len(tax_ids) > MAX_TAX_IDS:
            errors["tax_ids"] = [f"At most {MAX_TAX_IDS} tax IDs."]
        clean["tax_ids"] = []
        for index, item in enumerate(tax_ids):
            try:
                value = tax_id_clean(str(item.get("type") or ""), str(item.get("value") or ""))
            except ValueError as exc:
                errors[f"tax_ids[{index}].value"] = [str(exc)]
                continue
            clean["tax_ids"].append({"type": item["type"], "value": value})
    if "po_number" in data:
        po = str(data["po_number"] or "").strip()
        if len(po) > 140:
            errors["po_number"] = ["At most 140 characters."]
        clean["po_number"] = po
    if "locale" in data:
        locale = str(data["locale"] or "")
        if locale not in STRIPE_LOCALES:
            errors["locale"] = [f"One of {', '.join(STRIPE_LOCALES)}."]
        clean["locale"] = locale
    return clean, errors


# What a full replacement (PUT) leaves in a field it was not given.
CLEARED: dict[str, Any] = {
    "address": {key: "" for key in ADDRESS_KEYS},
    "tax_ids": [],
    "po_number": "",
}


def billing_details_update(
    *, tenant: Tenant, data: dict, actor: str = "system", replace: bool = False
) -> dict:
    """Change some of the tenant's billing details (the API's shape; absent keys stay, also inside
    `address`), or with `replace` all of them (PUT: what is absent is cleared, the invoice language
    goes back to the tenant's). Invalid input is a 400 with a message per field
    (`tax_ids[0].value`: "This is not a valid br_cnpj number"). Then Stripe's customer follows and
    the PDFs of unpaid invoices are rendered again."""
    if replace:
        data = {**CLEARED, **data, "address": {**CLEARED["address"], **(data.get("address") or {})}}
    clean, errors = _validate(data)
    if replace and "locale" not in data:
        clean["locale"] = ""
    if errors:
        raise InvalidRequest("Some billing details are not valid.", detail=errors)
    before = billing_details_get(tenant=tenant)
    with transaction.atomic():
        row, _ = BillingDetails.objects.select_for_update().get_or_create(tenant=tenant)
        for key, value in clean.items():
            setattr(row, key, value)
        if not row.legal_name:
            row.legal_name = before["legal_name"]
        if not row.emails:
            row.emails = before["emails"]
        row.full_clean()
        row.save()
        after = billing_details_get(tenant=tenant)
        audit_record(
            actor=actor,
            action="billing_details.update",
            tenant=tenant,
            target=tenant.slug,
            before=before,
            after=after,
        )
    billing_details_sync(tenant=tenant)
    invoices_rerender_unpaid(tenant=tenant)
    return after


def billing_details_sync(*, tenant: Tenant) -> None:
    """Put the billing details on the tenant's Stripe customer (idempotent: same details, same
    customer; tax IDs added and removed to match)."""
    from subscriptions.services.customers import customer_ensure

    details = billing_details_get(tenant=tenant)
    account = customer_ensure(tenant=tenant)
    address = details["address"]
    stripe_address = (
        {key: address[key] or "" for key in ADDRESS_KEYS} if any(address.values()) else None
    )
    custom = [{"name": "PO", "value": details["po_number"]}] if details["po_number"] else []
    stripe_customers.customer_update_billing(
        customer_id=account.stripe_customer_id,
        name=details["legal_name"],
        email=details["emails"][0] if details["emails"] else None,
        address=stripe_address,
        preferred_locales=[STRIPE_LOCALES.get(details["locale"], "en")],
        custom_fields=custom,
        key=op_key("billing-details", account.stripe_customer_id),
    )
    wanted = {(t["type"], t["value"]) for t in details["tax_ids"]}
    existing = stripe_customers.customer_tax_id_list(account.stripe_customer_id)
    for tax_id in existing:
        if (tax_id.type, tax_id.value) not in wanted:
            stripe_customers.customer_tax_id_delete(
                customer_id=account.stripe_customer_id, tax_id=tax_id.id
            )
    have = {(t.type, t.value) for t in existing}
    for kind, value in sorted(wanted - have):
        stripe_customers.customer_tax_id_create(
            customer_id=account.stripe_customer_id,
            kind=kind,
            value=value,
            key=op_key("tax-id", account.stripe_customer_id),
        )


def invoices_rerender_unpaid(*, tenant: Tenant) -> int:
    """Render again the PDFs of the tenant's invoices not paid yet (open), which print the buyer's
    and the seller's details as they are now. Returns how many."""
    from invoicing.models import InvoiceState
    from invoicing.services.documents import document_request

    with tenant_context(tenant):
        ids = list(InvoiceState.objects.filter(status="open").values_list("invoice_id", flat=True))
        for invoice_id in ids:
            document_request(tenant=tenant, invoice_id=invoice_id)
    return len(ids)


def seller_profile_changed(*, profile: SellerProfile, actor: str = "system") -> int:
    """The seller's block changed (admin): every tenant's unpaid invoice PDFs follow."""
    audit_record(
        actor=actor,
        action="seller_profile.update",
        tenant=None,
        target=profile.legal_name,
        after={"legal_name": profile.legal_name, "tax_id": profile.tax_id},
    )
    count = 0
    for tenant in Tenant.objects.exclude(schema_name="public").exclude(status="closed"):
        count += invoices_rerender_unpaid(tenant=tenant)
    return count
