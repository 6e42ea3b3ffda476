"""The tenant's cards: attach, list, make default, detach, and SetupIntents for the portal."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import transaction

from billing_project.errors import Conflict, NotFound
from billing_project.stripe_gateway import customers as stripe_customers
from billing_project.stripe_gateway import payment_methods as stripe_payment_methods
from billing_project.stripe_gateway.data import StripeData
from subscriptions.services.common import mirror, op_key
from subscriptions.services.customers import customer_ensure
from tenants.services import audit_record

if TYPE_CHECKING:
    from tenants.models import Tenant


def _default_id(customer: StripeData) -> str | None:
    settings_ = customer.get("invoice_settings") or {}
    return settings_.get("default_payment_method")


def payment_method_list(*, tenant: Tenant) -> list[dict[str, Any]]:
    """The tenant's cards as the API shows them (Stripe is the store; nothing is kept locally)."""
    account = customer_ensure(tenant=tenant)
    customer = stripe_customers.customer_retrieve(account.stripe_customer_id)
    default = _default_id(customer)
    out = []
    for pm in stripe_payment_methods.payment_method_list(customer_id=account.stripe_customer_id):
        card = pm.get("card") or {}  # type: ignore[attr-defined]  # dj-stripe's compat gives StripeObject dict's methods (stripe 15); stripe's types do not
        out.append(
            {
                "payment_method_id": pm.id,
                "type": pm.type,
                "brand": card.get("brand"),
                "last4": card.get("last4"),
                "exp_month": card.get("exp_month"),
                "exp_year": card.get("exp_year"),
                "is_default": pm.id == default,
            }
        )
    return out


def _owned(tenant: Tenant, payment_method_id: str) -> StripeData:
    """The pm if it belongs to this tenant's customer; another tenant's id is a plain 404."""
    account = customer_ensure(tenant=tenant)
    try:
        pm = stripe_payment_methods.payment_method_retrieve(payment_method_id)
    except NotFound:
        pm = None
    if pm is None or pm.get("customer") != account.stripe_customer_id:  # type: ignore[attr-defined]  # dj-stripe's compat gives StripeObject dict's methods (stripe 15); stripe's types do not
        raise NotFound("No such payment method.")
    return account, pm


def payment_method_attach(
    *,
    tenant: Tenant,
    token: str,
    set_default: bool = False,
    actor: str = "system",
    request_key: str | None = None,
) -> dict[str, Any]:
    """Attach a card (a pm_/tok_ from Stripe.js) to the tenant's customer. A declined card is a 402
    `card_declined` with Stripe's decline code. The first card becomes the default."""
    account = customer_ensure(tenant=tenant)
    customer = stripe_customers.customer_retrieve(account.stripe_customer_id)
    with transaction.atomic():
        pm = stripe_payment_methods.payment_method_attach(
            token=token,
            customer_id=account.stripe_customer_id,
            key=op_key("pm-attach", tenant, request_key),
        )
        make_default = set_default or not _default_id(customer)
        if make_default:
            stripe_customers.customer_set_default_payment_method(
                customer_id=account.stripe_customer_id,
                payment_method_id=pm.id,
                key=op_key("pm-default", tenant, request_key),
            )
        audit_record(
            actor=actor,
            action="payment_method.attach",
            tenant=tenant,
            target=pm.id,
            after={
                "brand": (pm.get("card") or {}).get("brand"),  # type: ignore[attr-defined]  # dj-stripe's compat gives StripeObject dict's methods (stripe 15); stripe's types do not
                "last4": (pm.get("card") or {}).get("last4"),  # type: ignore[attr-defined]  # dj-stripe's compat gives StripeObject dict's methods (stripe 15); stripe's types do not
                "default": make_default,
            },
        )
        mirror("PaymentMethod", pm)
    return next(p for p in payment_method_list(tenant=tenant) if p["payment_method_id"] == pm.id)


def payment_method_set_default(
    *, tenant: Tenant, payment_method_id: str, actor: str = "system", request_key: str | None = None
) -> dict[str, Any]:
    account, pm = _owned(tenant, payment_method_id)
    customer = stripe_customers.customer_retrieve(account.stripe_customer_id)
    with transaction.atomic():
        stripe_customers.customer_set_default_payment_method(
            customer_id=account.stripe_customer_id,
            payment_method_id=pm.id,
            key=op_key("pm-default", tenant, request_key),
        )
        audit_record(
            actor=actor,
            action="payment_method.set_default",
            tenant=tenant,
            target=pm.id,
            before={"default": _default_id(customer)},
            after={"default": pm.id},
        )
    return next(p for p in payment_method_list(tenant=tenant) if p["payment_method_id"] == pm.id)


def payment_method_detach(
    *, tenant: Tenant, payment_method_id: str, actor: str = "system", request_key: str | None = None
) -> None:
    """Remove a card; not the default card while a paid subscription is live (409)."""
    account, pm = _owned(tenant, payment_method_id)
    customer = stripe_customers.customer_retrieve(account.stripe_customer_id)
    paid_live = (
        account.is_live
        and account.plan is not None
        and (account.plan.price_monthly > 0 or account.plan.price_yearly > 0)
    )
    if paid_live and _default_id(customer) == pm.id:
        raise Conflict(
            "This card pays the live subscription; make another card the default first.",
            code="payment_method_in_use",
        )
    with transaction.atomic():
        stripe_payment_methods.payment_method_detach(
            payment_method_id=pm.id, key=op_key("pm-detach", tenant, request_key)
        )
        audit_record(actor=actor, action="payment_method.detach", tenant=tenant, target=pm.id)


def setup_intent_create(*, tenant: Tenant, request_key: str | None = None) -> str:
    """A SetupIntent's client secret: the portal collects a card with Stripe.js and confirms it."""
    account = customer_ensure(tenant=tenant)
    intent = stripe_payment_methods.setup_intent_create(
        customer_id=account.stripe_customer_id, key=op_key("setup-intent", tenant, request_key)
    )
    return intent.client_secret  # type: ignore[return-value]  # Stripe gives a new SetupIntent's secret to its creator
