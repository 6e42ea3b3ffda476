"""Helpers shared by the invoicing services: the fresh invoice, its mirror, events."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from billing_project.errors import NotFound
from billing_project.stripe_gateway import invoices as stripe_invoices
from billing_project.stripe_gateway.data import StripeData
from invoicing import selectors

if TYPE_CHECKING:
    from tenants.models import Tenant


def customer_id_of(tenant: Tenant) -> str:
    from subscriptions.models import BillingAccount

    return (
        BillingAccount.objects.filter(tenant=tenant)
        .values_list("stripe_customer_id", flat=True)
        .first()
        or ""
    )


def fresh_invoice(*, tenant: Tenant, invoice_id: str) -> dict[str, Any]:
    """The invoice as Stripe has it now, if it is this tenant's (else 404, as for an unknown id).

    Money actions decide on Stripe's current state, never on a mirror that may lag a webhook."""
    owned = selectors.invoice_get(tenant=tenant, invoice_id=invoice_id) is not None
    try:
        data = stripe_invoices.invoice_retrieve(invoice_id)
    except NotFound:
        raise NotFound("No such invoice.") from None
    if not owned and data.get("customer") != customer_id_of(tenant):  # type: ignore[attr-defined]  # dj-stripe's compat gives StripeObject dict's methods (stripe 15); stripe's types do not
        raise NotFound("No such invoice.")
    return data  # type: ignore[return-value]  # a dict to its callers by the same compat


def mirror_invoice(invoice: StripeData, *, fresh: bool = False) -> None:
    """Refresh dj-stripe's copy of an invoice (an id or a Stripe object). Unless the object came
    from `stripe_invoices.invoice_retrieve` (fresh), it is fetched again with the expansions the mirror needs."""
    from subscriptions.services.common import mirror

    if not fresh:
        invoice = stripe_invoices.invoice_retrieve(
            invoice if isinstance(invoice, str) else invoice["id"]
        )
    mirror("Invoice", invoice)


def emit(
    *,
    tenant: Tenant,
    kind: str,
    object_id: str,
    dedup_key: str | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    """A billing event for the notifications app, written in the caller's transaction (so it exists
    iff the change does; its subscribers run after commit). Dedup keys make a repeat a no-op."""
    from notifications.events import billing_event_emit

    billing_event_emit(
        tenant=tenant, kind=kind, object_id=object_id, dedup_key=dedup_key, data=data or {}
    )
