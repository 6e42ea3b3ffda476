"""Reads of the buyer's billing details and the seller's block, shaped for the API, the portal and
the invoice PDF."""

from __future__ import annotations

import base64
import mimetypes
from pathlib import Path
from typing import cast

from django.conf import settings

from billing_details.models import BillingDetails, SellerProfile

ADDRESS_KEYS = ("line1", "line2", "city", "state", "postal_code", "country")


def billing_details_row(*, tenant) -> BillingDetails | None:
    return BillingDetails.objects.filter(tenant=tenant).first()


def billing_details_get(*, tenant) -> dict:
    """The API's shape; a tenant that never set them gets its name, email and locale."""
    row = billing_details_row(tenant=tenant)
    if row is None:
        return {
            "legal_name": tenant.legal_name or tenant.name,
            "emails": [tenant.email] if tenant.email else [],
            "address": {key: "" for key in ADDRESS_KEYS},
            "tax_ids": [],
            "po_number": "",
            "locale": tenant.locale,
        }
    return {
        "legal_name": row.legal_name or tenant.legal_name or tenant.name,
        "emails": list(row.emails or ([tenant.email] if tenant.email else [])),
        "address": {key: getattr(row, key) for key in ADDRESS_KEYS},
        "tax_ids": [{"type": t["type"], "value": t["value"]} for t in row.tax_ids or []],
        "po_number": row.po_number,
        "locale": row.locale or tenant.locale,
    }


def invoice_locale(*, tenant) -> str:
    """The language of the tenant's invoices: its billing details' choice, else its locale."""
    row = billing_details_row(tenant=tenant)
    return (row.locale if row is not None and row.locale else tenant.locale) or "en"


def buyer_block(*, tenant) -> dict:
    """The "Bill to" block of the invoice PDF."""
    details = billing_details_get(tenant=tenant)
    address = details["address"]
    lines = [
        address["line1"],
        address["line2"],
        " ".join(p for p in (address["postal_code"], address["city"]) if p),
        ", ".join(p for p in (address["state"], address["country"]) if p),
    ]
    legacy = billing_details_row(tenant=tenant) is None and tenant.address
    return {
        "name": details["legal_name"],
        "address": tenant.address if legacy else "\n".join(line for line in lines if line),
        "tax_ids": details["tax_ids"]
        or ([{"type": "", "value": tenant.tax_id}] if tenant.tax_id else []),
        "email": ", ".join(details["emails"]),
        "po_number": details["po_number"],
    }


def seller_profile_get() -> SellerProfile | None:
    return SellerProfile.objects.first()


def _data_uri(path: str) -> str:
    """A logo inlined, so rendering never reads a URL (workers may have no network)."""
    if not path or not Path(path).is_file():
        return ""
    mime = mimetypes.guess_type(path)[0] or "image/png"
    return f"data:{mime};base64,{base64.b64encode(Path(path).read_bytes()).decode()}"


def seller_block() -> dict:
    """The seller (issuer) of every invoice: the staff-edited profile, else the settings."""
    profile = seller_profile_get()
    if profile is None:
        return {
            "name": settings.INVOICE_BRAND_NAME,
            "color": settings.INVOICE_BRAND_COLOR,
            "logo": _data_uri(settings.INVOICE_LOGO_PATH),
            "footer": settings.INVOICE_LEGAL_FOOTER,
            "address": "",
            "tax_id": "",
            "support_email": "",
        }
    logo = ""
    if profile.logo:
        try:
            logo = _data_uri(profile.logo.path)
        except NotImplementedError:  # remote storage: read through the storage API
            with profile.logo.open("rb") as handle:
                # A set file field (`if profile.logo`) has a name.
                mime = mimetypes.guess_type(cast(str, profile.logo.name))[0] or "image/png"
                logo = f"data:{mime};base64,{base64.b64encode(handle.read()).decode()}"
    return {
        "name": profile.legal_name,
        "color": profile.color,
        "logo": logo,
        "footer": profile.footer,
        "address": profile.address,
        "tax_id": profile.tax_id,
        "support_email": profile.support_email,
    }
