"""Stripe Customers: one per tenant."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import stripe

from billing_project.stripe_gateway.client import get_client
from billing_project.stripe_gateway.errors import stripe_errors
from billing_project.stripe_gateway.keys import request_options

if TYPE_CHECKING:
    from stripe.params import CustomerCreateParams, CustomerUpdateParams

    from tenants.models import Tenant


def customer_create(*, tenant: Tenant, test_clock: str | None, key: str) -> stripe.Customer:
    params: CustomerCreateParams = {
        "name": tenant.name,
        "email": tenant.email,
        "metadata": {
            "tenant_id": str(tenant.id),
            "tenant_slug": tenant.slug,
            # dj-stripe links Customer.subscriber from this key.
            "djstripe_subscriber": str(tenant.id),
        },
    }
    if test_clock:
        params["test_clock"] = test_clock
    with stripe_errors():
        return get_client().v1.customers.create(params=params, options=request_options(key))


def customer_retrieve(customer_id: str) -> stripe.Customer:
    with stripe_errors():
        return get_client().v1.customers.retrieve(customer_id)


def customer_set_default_payment_method(
    *, customer_id: str, payment_method_id: str, key: str
) -> stripe.Customer:
    with stripe_errors():
        return get_client().v1.customers.update(
            customer_id,
            params={"invoice_settings": {"default_payment_method": payment_method_id}},
            options=request_options(key),
        )


def customer_update_billing(
    *,
    customer_id: str,
    name: str,
    email: str | None,
    address: dict[str, Any] | None,
    preferred_locales: list[str],
    custom_fields: list[dict[str, Any]],
    key: str,
) -> stripe.Customer:
    """The buyer's details on the customer: Stripe prints them on its own invoices and receipts."""
    params: dict[str, Any] = {
        "name": name,
        "address": address or "",
        "preferred_locales": preferred_locales,
        "invoice_settings": {"custom_fields": custom_fields or ""},
    }
    if email:
        params["email"] = email
    with stripe_errors():
        return get_client().v1.customers.update(
            customer_id,
            params=cast("CustomerUpdateParams", params),
            options=request_options(key),
        )


def customer_tax_id_list(customer_id: str) -> list[stripe.TaxId]:
    with stripe_errors():
        return list(
            get_client()
            .v1.customers.tax_ids.list(customer_id, params={"limit": 100})
            .auto_paging_iter()
        )


def customer_tax_id_create(*, customer_id: str, kind: str, value: str, key: str) -> stripe.TaxId:
    with stripe_errors():
        return get_client().v1.customers.tax_ids.create(
            customer_id, params={"type": kind, "value": value}, options=request_options(key)
        )


def customer_tax_id_delete(*, customer_id: str, tax_id: str) -> stripe.TaxId:
    with stripe_errors():
        return get_client().v1.customers.tax_ids.delete(customer_id, tax_id)
