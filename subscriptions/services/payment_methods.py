"""The tenant's payment methods (cards, SEPA Direct Debit, PayPal): attach, list, make default,
detach, and SetupIntents for the portal."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import transaction

from billing_project.errors import Conflict, InvalidRequest, NotFound
from billing_project.stripe_gateway import customers as stripe_customers
from billing_project.stripe_gateway import payment_methods as stripe_payment_methods
from billing_project.stripe_gateway.data import StripeData
from subscriptions.services.common import mirror, op_key
from subscriptions.services.customers import customer_ensure
from tenants.services import audit_record

if TYPE_CHECKING:
    from subscriptions.models import BillingAccount
    from tenants.models import Tenant


def _default_id(customer: StripeData) -> str | None:
    settings_ = customer.get("invoice_settings") or {}
    return settings_.get("default_payment_method")


# The PaymentMethod types the tenants can pay with (Stripe's names).
PAYMENT_METHOD_TYPES = ("card", "sepa_debit", "paypal")
# The types that pay some currencies only: Stripe refuses a SEPA Direct Debit in anything but EUR
# (400 payment_intent_invalid_parameter), so the service never sends it one.
METHOD_CURRENCIES: dict[str, tuple[str, ...]] = {"sepa_debit": ("eur",)}
METHOD_NAMES = {"sepa_debit": "SEPA Direct Debit"}


def method_pays_in(kind: str | None, currency: str) -> bool:
    """Whether a payment method of type `kind` can pay an amount in `currency`."""
    supported = METHOD_CURRENCIES.get(kind or "")
    return supported is None or (currency or "").lower() in supported


def method_currency_check(
    *, kind: str | None, currency: str, subject: str = "this charge is"
) -> None:
    """400 `payment_method_currency_unsupported` when a method of type `kind` cannot pay `currency`."""
    if method_pays_in(kind, currency):
        return
    supported = list(METHOD_CURRENCIES[kind or ""])
    raise InvalidRequest(
        f"{METHOD_NAMES.get(kind or '', kind)} pays amounts in "
        f"{', '.join(c.upper() for c in supported)} only, and {subject} in "
        f"{currency.upper()}: pay it by card or PayPal, or choose a plan priced in "
        f"{supported[0].upper()}.",
        code="payment_method_currency_unsupported",
        detail={
            "payment_method": [f"A {kind} method cannot pay in {currency.upper()}."],
            "currency": currency.lower(),
            "supported_currencies": supported,
        },
    )


def paying_method_type(*, customer_id: str, payment_method: str | None = None) -> str | None:
    """The type of the method that would pay the customer's next charge: `payment_method` (a pm_
    id), else the customer's default; None when there is none. Stripe's magic test cards and card
    tokens are cards without asking."""
    if payment_method and payment_method.startswith(("pm_card_", "tok_")):
        return "card"
    method_id = payment_method
    if not method_id:
        method_id = _default_id(stripe_customers.customer_retrieve(customer_id))
    if not method_id:
        return None
    try:
        pm = stripe_payment_methods.payment_method_retrieve(method_id)
    except NotFound:
        return None
    return pm.get("type")  # type: ignore[attr-defined, no-any-return]  # dj-stripe's compat gives StripeObject dict's methods (stripe 15); stripe's types do not


def _masked_email(email: str | None) -> str:
    """j•••@example.com: enough to recognise one's account, not enough to harvest the address."""
    if not email or "@" not in email:
        return ""
    local, domain = email.split("@", 1)
    return f"{local[:1]}•••@{domain}"


def payment_method_label(pm: StripeData) -> str:
    """What a person recognises a payment method by: "Visa •••• 4242, 12/34",
    "SEPA DE89 •••• 3000", "PayPal j•••@example.com"."""
    kind = pm.get("type")
    if kind == "sepa_debit":
        sepa = pm.get("sepa_debit") or {}
        # The IBAN's first four characters (country and check digits) as the account holder reads
        # them; Stripe keeps only the country, so the service notes them when it creates the method.
        prefix = (pm.get("metadata") or {}).get("iban_prefix") or sepa.get("country") or ""
        return f"SEPA {prefix} •••• {sepa.get('last4') or ''}".replace("  ", " ")
    if kind == "paypal":
        paypal = pm.get("paypal") or {}
        email = paypal.get("payer_email") or (pm.get("billing_details") or {}).get("email")
        return f"PayPal {_masked_email(email)}".strip()
    card = pm.get("card") or {}
    brand = (card.get("display_brand") or card.get("brand") or "card").replace("_", " ").title()
    expiry = ""
    if card.get("exp_month") and card.get("exp_year"):
        expiry = f", {int(card['exp_month']):02d}/{int(card['exp_year']) % 100:02d}"
    return f"{brand} •••• {card.get('last4') or ''}{expiry}"


def payment_method_row(pm: StripeData, *, default: str | None) -> dict[str, Any]:
    """One payment method as the API and the portal show it."""
    card = pm.get("card") or {}
    sepa = pm.get("sepa_debit") or {}
    paypal = pm.get("paypal") or {}
    return {
        "payment_method_id": pm.get("id"),
        "type": pm.get("type"),
        "label": payment_method_label(pm),
        "brand": card.get("brand"),
        "last4": card.get("last4") or sepa.get("last4"),
        "exp_month": card.get("exp_month"),
        "exp_year": card.get("exp_year"),
        "country": sepa.get("country") or card.get("country") or paypal.get("country"),
        "email": paypal.get("payer_email"),
        "is_default": pm.get("id") == default,
        "status": "active",
        "approval_url": None,
    }


def payment_method_list(*, tenant: Tenant) -> list[dict[str, Any]]:
    """The tenant's payment methods as the API shows them (Stripe is the store; nothing is kept
    locally): cards, SEPA Direct Debit accounts and approved PayPal accounts."""
    account = customer_ensure(tenant=tenant)
    customer = stripe_customers.customer_retrieve(account.stripe_customer_id)
    default = _default_id(customer)
    return [
        payment_method_row(pm, default=default)
        for pm in stripe_payment_methods.payment_method_list(customer_id=account.stripe_customer_id)
        if pm.type in PAYMENT_METHOD_TYPES
    ]


def _owned(tenant: Tenant, payment_method_id: str) -> tuple[BillingAccount, StripeData]:
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
                "type": pm.get("type"),  # type: ignore[attr-defined]  # dj-stripe's compat gives StripeObject dict's methods (stripe 15); stripe's types do not
                "label": payment_method_label(pm),
                "default": make_default,
            },
        )
        mirror("PaymentMethod", pm)
    return next(p for p in payment_method_list(tenant=tenant) if p["payment_method_id"] == pm.id)


def payment_method_set_default(
    *, tenant: Tenant, payment_method_id: str, actor: str = "system", request_key: str | None = None
) -> dict[str, Any]:
    account, pm = _owned(tenant, payment_method_id)
    if account.is_live and account.plan is not None:
        # The default pays the renewals: never one that cannot pay the subscription's currency.
        method_currency_check(kind=pm.get("type"), currency=account.plan.currency)
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
        from webhooks.catalogue import payment_method_object
        from webhooks.services import emit_event

        # Stripe's payment_method.detached names no customer any more: told from here, once per card.
        emit_event(
            tenant=tenant,
            type="payment_method.detached",
            obj=payment_method_object(pm, default_id=None),
            dedup_key=f"payment_method.detached:{pm.id}",
        )


def setup_intent_create(*, tenant: Tenant, request_key: str | None = None) -> str:
    """A SetupIntent's client secret: the portal collects a card with Stripe.js and confirms it."""
    account = customer_ensure(tenant=tenant)
    intent = stripe_payment_methods.setup_intent_create(
        customer_id=account.stripe_customer_id, key=op_key("setup-intent", tenant, request_key)
    )
    return intent.client_secret  # type: ignore[return-value]  # Stripe gives a new SetupIntent's secret to its creator
