"""No-login links to an invoice's PDF, for the billing contacts who receive invoice emails but are no
members of the portal: signed (django.core.signing, salted per purpose) and expiring.

The token names the tenant and the invoice; the link is on the tenant's own host, so a token of one
tenant opens nothing on another's. A tampered token is a 404, an expired one a 410."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.core import signing
from django.urls import reverse

from billing_project.errors import DomainError, NotFound

if TYPE_CHECKING:
    from tenants.models import Tenant

SALT = "invoicing.invoice-pdf-link"
# Long enough to open an emailed invoice during a month-end close; a new email brings a new link.
LINK_MAX_AGE = timedelta(days=30)


class LinkExpired(DomainError):
    status_code = 410
    code = "link_expired"
    default_message = "This invoice link has expired; the latest invoice email has a new one."


def invoice_link_token(*, tenant: Tenant, invoice_id: str) -> str:
    return signing.dumps({"t": str(tenant.pk), "i": invoice_id}, salt=SALT, compress=True)


def invoice_link_url(*, tenant: Tenant, invoice_id: str) -> str:
    """The absolute no-login URL of the invoice's PDF on the tenant's portal host."""
    from tenants.services.provisioning import portal_url_for

    token = invoice_link_token(tenant=tenant, invoice_id=invoice_id)
    path = reverse("portal:invoice-pdf-link", args=[token], urlconf=settings.ROOT_URLCONF)
    return portal_url_for(tenant.slug).rstrip("/") + path


def invoice_link_resolve(*, tenant: Tenant, token: str) -> str:
    """The invoice id a token grants on this tenant: 404 `not_found` when the token was altered or is
    another tenant's, 410 `link_expired` when older than LINK_MAX_AGE."""
    try:
        data = signing.loads(token, salt=SALT, max_age=LINK_MAX_AGE)
    except signing.SignatureExpired:
        raise LinkExpired() from None
    except signing.BadSignature:
        raise NotFound("This invoice link is not valid.") from None
    if not isinstance(data, dict) or data.get("t") != str(tenant.pk) or not data.get("i"):
        raise NotFound("This invoice link is not valid.")
    return str(data["i"])
