"""SEPA Direct Debit and PayPal as the tenant's payment methods (Stripe PaymentMethod types).

SEPA: the IBAN becomes a ``sepa_debit`` PaymentMethod saved by a SetupIntent that carries the
customer's acceptance of the mandate (the text below, shown in the portal; through the API the
caller accepts it for the customer). Payments with it go ``processing`` and settle days later.

PayPal: a ``paypal`` PaymentMethod saved by a SetupIntent confirmed with a return URL; the payer
approves the billing agreement on PayPal's page (``approval_url``), comes back, and the method is
attached, showing the payer's email.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from django.utils.translation import gettext_lazy as _
from stdnum import iban as stdnum_iban
from stdnum.exceptions import ValidationError as StdnumValidationError

from billing_project.errors import InvalidRequest, NotFound
from billing_project.stripe_gateway import customers as stripe_customers
from billing_project.stripe_gateway import payment_methods as stripe_payment_methods
from billing_project.stripe_gateway.data import StripeData
from subscriptions.services.common import mirror, op_key
from subscriptions.services.customers import customer_ensure
from subscriptions.services.payment_methods import (
    _default_id,
    method_currency_check,
    payment_method_label,
    payment_method_list,
    payment_method_row,
)
from tenants.models import AuditEvent
from tenants.services import audit_record

if TYPE_CHECKING:
    from subscriptions.models import BillingAccount
    from tenants.models import Tenant

# Stripe's SEPA Direct Debit mandate text (the portal shows it next to the IBAN field).
SEPA_MANDATE_TEXT = _(
    "By providing your IBAN and confirming, you authorise (A) %(merchant)s and Stripe, our payment "
    "service provider, to send instructions to your bank to debit your account and (B) your bank to "
    "debit your account in accordance with those instructions. As part of your rights, you are "
    "entitled to a refund from your bank under the terms and conditions of your agreement with your "
    "bank. A refund must be claimed within 8 weeks starting from the date on which your account was "
    "debited. Your rights are explained in a statement that you can obtain from your bank."
)


def iban_clean(value: str) -> str:
    """The IBAN without spaces, upper case; 400 with a field error when it is not a valid IBAN."""
    try:
        return stdnum_iban.validate(value or "")
    except StdnumValidationError:
        raise InvalidRequest(
            "The IBAN is not valid.",
            detail={"iban": ["Enter a valid IBAN (e.g. DE89 3704 0044 0532 0130 00)."]},
        ) from None


def _finish(
    *,
    tenant: Tenant,
    account: BillingAccount,
    pm: StripeData,
    set_default: bool,
    actor: str,
    request_key: str | None,
    action: str,
) -> dict[str, Any]:
    customer = stripe_customers.customer_retrieve(account.stripe_customer_id)
    make_default = set_default or not _default_id(customer)
    if make_default:
        stripe_customers.customer_set_default_payment_method(
            customer_id=account.stripe_customer_id,
            payment_method_id=pm.id,
            key=op_key("pm-default", tenant, request_key),
        )
    audit_record(
        actor=actor,
        action=action,
        tenant=tenant,
        target=pm.id,
        after={"type": pm.get("type"), "label": payment_method_label(pm), "default": make_default},
    )
    mirror("PaymentMethod", pm)
    return next(p for p in payment_method_list(tenant=tenant) if p["payment_method_id"] == pm.id)


def sepa_debit_attach(
    *,
    tenant: Tenant,
    iban: str = "",
    token: str = "",
    account_holder: str = "",
    email: str = "",
    mandate_ip: str | None = None,
    mandate_user_agent: str = "",
    set_default: bool = False,
    actor: str = "system",
    request_key: str | None = None,
) -> dict[str, Any]:
    """Save a SEPA Direct Debit account: from an IBAN (or a ``pm_`` that Stripe.js made), with the
    customer's online acceptance of the mandate. The first payment method becomes the default.

    SEPA Direct Debit pays euros only: a tenant billed in another currency (its live subscription's,
    else its billing country's, see subscriptions.selectors.billing_currency_get) gets a 400
    `payment_method_currency_unsupported` before anything is sent to Stripe."""
    from subscriptions.selectors import billing_currency_get

    number = "" if token else iban_clean(iban)
    method_currency_check(
        kind="sepa_debit",
        currency=billing_currency_get(tenant=tenant),
        subject="your organisation is billed",
    )
    account = customer_ensure(tenant=tenant)
    if token:
        try:
            pm: StripeData = stripe_payment_methods.payment_method_retrieve(token)
        except NotFound:
            raise InvalidRequest(
                "No such SEPA Direct Debit payment method.",
                detail={"token": ["Unknown payment method."]},
            ) from None
        if pm.get("type") != "sepa_debit" or pm.get("customer") not in (
            None,
            account.stripe_customer_id,
        ):
            raise InvalidRequest(
                "This is not a SEPA Direct Debit payment method of yours.",
                detail={"token": ["Not a sepa_debit payment method."]},
            )
    else:
        pm = stripe_payment_methods.payment_method_create(
            kind="sepa_debit",
            iban=number,
            billing_details={"name": account_holder or tenant.name, "email": email or tenant.email},
            metadata={"iban_prefix": number[:4]},
            key=op_key("pm-sepa", tenant, request_key),
        )
    try:
        mandate_ip = str(ipaddress.ip_address(mandate_ip or ""))
    except ValueError:
        mandate_ip = "0.0.0.0"  # noqa: S104 - Stripe needs an address; none could be read
    acceptance = {
        "type": "online",
        "online": {
            "ip_address": mandate_ip,
            "user_agent": (mandate_user_agent or "billing-service")[:500],
        },
    }
    stripe_payment_methods.setup_intent_confirm_new(
        customer_id=account.stripe_customer_id,
        payment_method_id=pm.id,
        kind="sepa_debit",
        mandate_data={"customer_acceptance": acceptance},
        key=op_key("seti-sepa", tenant, request_key),
    )
    pm = stripe_payment_methods.payment_method_retrieve(pm.id)
    return _finish(
        tenant=tenant,
        account=account,
        pm=pm,
        set_default=set_default,
        actor=actor,
        request_key=request_key,
        action="payment_method.attach",
    )


def return_url_clean(value: str) -> str:
    parts = urlsplit(value or "")
    if parts.scheme not in ("http", "https") or not parts.netloc or len(value) > 2000:
        raise InvalidRequest(
            "return_url must be an http(s) URL.", detail={"return_url": ["Enter an http(s) URL."]}
        )
    return value


def paypal_setup_start(
    *,
    tenant: Tenant,
    return_url: str,
    set_default: bool = False,
    actor: str = "system",
    request_key: str | None = None,
) -> dict[str, Any]:
    """Start saving a PayPal account: the payer approves it at ``approval_url`` and comes back to
    ``return_url`` (with ``setup_intent`` and ``redirect_status``). Until then the method is not
    listed; ``paypal_setup_finish`` (the portal's return page) completes it."""
    return_url = return_url_clean(return_url)
    account = customer_ensure(tenant=tenant)
    pm = stripe_payment_methods.payment_method_create(
        kind="paypal",
        billing_details={"name": tenant.name},
        key=op_key("pm-paypal", tenant, request_key),
    )
    seti: StripeData = stripe_payment_methods.setup_intent_confirm_new(
        customer_id=account.stripe_customer_id,
        payment_method_id=pm.id,
        kind="paypal",
        return_url=return_url,
        metadata={"set_default": "true" if set_default else "false"},
        key=op_key("seti-paypal", tenant, request_key),
    )
    audit_record(actor=actor, action="payment_method.paypal_started", tenant=tenant, target=pm.id)
    row = payment_method_row(pm, default=None)
    redirect = (seti.get("next_action") or {}).get("redirect_to_url") or {}
    row.update(
        status="requires_approval", approval_url=redirect.get("url"), setup_intent_id=seti.id
    )
    return row


def paypal_setup_finish(
    *, tenant: Tenant, setup_intent_id: str, actor: str = "system"
) -> dict[str, Any]:
    """The payer came back from PayPal: the approved method is the tenant's (the default when it
    has none, or when asked at the start). Declined or abandoned: 400 `paypal_not_approved`."""
    account = customer_ensure(tenant=tenant)
    try:
        seti: StripeData = stripe_payment_methods.setup_intent_retrieve(setup_intent_id)
    except NotFound:
        seti = None
    if seti is None or seti.get("customer") != account.stripe_customer_id:
        raise NotFound("No such PayPal approval.")
    if seti.get("status") != "succeeded":
        raise InvalidRequest("The PayPal account was not approved.", code="paypal_not_approved")
    pm = stripe_payment_methods.payment_method_retrieve(seti["payment_method"])
    # Both the return page and Stripe's setup_intent.succeeded webhook finish it: once is enough
    # (a second pass would make it the default again after the tenant chose another one).
    if AuditEvent.objects.filter(
        tenant=tenant, action="payment_method.attach", target=pm.id
    ).exists():
        return next(
            p for p in payment_method_list(tenant=tenant) if p["payment_method_id"] == pm.id
        )
    return _finish(
        tenant=tenant,
        account=account,
        pm=pm,
        set_default=(seti.get("metadata") or {}).get("set_default") == "true",
        actor=actor,
        request_key=f"paypal:{setup_intent_id}",
        action="payment_method.attach",
    )
