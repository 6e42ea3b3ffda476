"""Customers, their balance transactions, and the account object."""

from __future__ import annotations

import secrets

from ..encoding import apply_metadata, get_int, get_str
from ..errors import invalid
from ..events import emit, mutate
from ..routing import route
from ..state import new_id
from .base import address, delete, list_objects, new_object, retrieve, search_objects, update
from .payment_methods import attach, resolve_payment_method

CUSTOMER_FIELDS = ("email", "name", "description", "phone", "tax_exempt")


@route("GET", "/v1/account")
def get_account(ctx):
    """The platform account (dj-stripe reads it at start)."""
    acct = ctx.state.account
    requirements = {
        "alternatives": [],
        "current_deadline": None,
        "currently_due": [],
        "disabled_reason": None,
        "errors": [],
        "eventually_due": [],
        "past_due": [],
        "pending_verification": [],
    }
    return {
        "id": acct["id"],
        "object": "account",
        "business_profile": {
            "annual_revenue": None,
            "estimated_worker_count": None,
            "mcc": None,
            "name": "Stripe Emulator",
            "product_description": None,
            "support_address": None,
            "support_email": None,
            "support_phone": None,
            "support_url": None,
            "url": None,
            "minority_owned_business_designation": None,
        },
        "business_type": "company",
        "capabilities": {"card_payments": "active", "transfers": "active"},
        "charges_enabled": True,
        "controller": {"type": "account"},
        "country": "US",
        "created": acct["created"],
        "default_currency": "usd",
        "details_submitted": True,
        "email": "emulator@example.com",
        "external_accounts": {
            "object": "list",
            "data": [],
            "has_more": False,
            "url": f"/v1/accounts/{acct['id']}/external_accounts",
        },
        "future_requirements": dict(requirements),
        "metadata": {},
        "payouts_enabled": True,
        "requirements": dict(requirements),
        "settings": {
            "branding": {
                "icon": None,
                "logo": None,
                "primary_color": None,
                "secondary_color": None,
            },
            "card_payments": {
                "decline_on": {"avs_failure": False, "cvc_failure": False},
                "statement_descriptor_prefix": None,
            },
            "dashboard": {"display_name": "Stripe Emulator", "timezone": "Etc/UTC"},
            "payments": {"statement_descriptor": "EMULATOR"},
            "payouts": {
                "debit_negative_balances": True,
                "schedule": {"delay_days": 2, "interval": "daily"},
                "statement_descriptor": None,
            },
        },
        "tos_acceptance": {"date": None, "ip": None, "user_agent": None},
        "type": "standard",
    }


def _apply_customer_params(ctx, cus):
    p = ctx.params
    if "address" in p:
        cus["address"] = address(p["address"]) if p["address"] != "" else None
    if "shipping" in p:
        cus["shipping"] = p["shipping"] or None
    if "balance" in p:
        cus["balance"] = get_int(p, "balance")
    if "preferred_locales" in p:
        cus["preferred_locales"] = list(p["preferred_locales"] or [])
    settings = p.get("invoice_settings")
    if isinstance(settings, dict) and "custom_fields" in settings:
        cus["invoice_settings"]["custom_fields"] = _custom_fields(settings["custom_fields"])
    if isinstance(settings, dict) and "footer" in settings:
        cus["invoice_settings"]["footer"] = settings["footer"] or None
    if isinstance(settings, dict) and "default_payment_method" in settings:
        cus["invoice_settings"]["default_payment_method"] = _default_pm(
            ctx, cus, settings["default_payment_method"]
        )


def _custom_fields(value):
    """``invoice_settings[custom_fields]``: up to 4 ``{name, value}`` (names up to 40 characters,
    values up to 140); an empty string clears them."""
    if value in ("", None):
        return None
    fields = list(value.values()) if isinstance(value, dict) else value
    if not isinstance(fields, list) or len(fields) > 4:
        raise invalid(
            "You can only pass up to 4 custom fields.", param="invoice_settings[custom_fields]"
        )
    out = []
    for index, field in enumerate(fields):
        name = field.get("name") if isinstance(field, dict) else None
        text = field.get("value") if isinstance(field, dict) else None
        if not name or not text or len(name) > 40 or len(text) > 140:
            raise invalid(
                "Custom fields need a name (up to 40 characters) and a value (up to 140).",
                param=f"invoice_settings[custom_fields][{index}]",
            )
        out.append({"name": name, "value": text})
    return out


def _default_pm(ctx, cus, value):
    if not value:
        return None
    param = "invoice_settings[default_payment_method]"
    pm = resolve_payment_method(ctx.state, value, param=param)
    if pm.get("customer") is None and value.startswith("pm_card_"):
        attach(ctx.state, pm, cus["id"])  # a magic id is turned into a fresh attached card
    if pm.get("customer") != cus["id"]:
        raise invalid(
            f"No such PaymentMethod: '{value}'; It's possible this PaymentMethod exists on one of "
            f"your connected accounts, in which case you should retry this request on that "
            f"connected account.",
            param=param,
            code="resource_missing",
        )
    return pm["id"]


@route("POST", "/v1/customers")
def create_customer(ctx):
    p = ctx.params
    clock_id = get_str(p, "test_clock")
    clock = (
        ctx.state.get("test_helpers.test_clock", clock_id, param="test_clock") if clock_id else None
    )
    cus = new_object(
        ctx,
        "customer",
        "cus",
        obj_id=new_id("cus", 14),
        address=None,
        balance=0,
        currency=None,
        default_source=None,
        delinquent=False,
        description=None,
        discount=None,
        email=None,
        invoice_prefix=secrets.token_hex(4).upper(),
        invoice_settings={
            "custom_fields": None,
            "default_payment_method": None,
            "footer": None,
            "rendering_options": None,
        },
        name=None,
        next_invoice_sequence=1,
        phone=None,
        preferred_locales=[],
        shipping=None,
        tax_exempt="none",
        test_clock=clock_id,
    )
    if clock:
        cus["created"] = clock["frozen_time"]
    for name in CUSTOMER_FIELDS:
        if p.get(name):
            cus[name] = p[name]
    ctx.state.add(cus)
    if p.get("payment_method"):
        pm = resolve_payment_method(ctx.state, p["payment_method"], param="payment_method")
        attach(ctx.state, pm, cus["id"])
    _apply_customer_params(ctx, cus)
    emit(ctx.state, "customer.created", cus)
    return ctx.out(cus)


@route("GET", "/v1/customers/search")
def search_customers(ctx):
    return search_objects(ctx, "customer", "/v1/customers/search")


@route("GET", "/v1/customers")
def list_customers(ctx):
    return list_objects(
        ctx, "customer", "/v1/customers", ("email", "email"), ("test_clock", "test_clock")
    )


@route("GET", "/v1/customers/{id}")
def get_customer(ctx, id):
    cus = ctx.state.find(id, "customer")
    if cus is not None and cus.get("_deleted"):
        return {"id": id, "object": "customer", "deleted": True}
    return retrieve(ctx, "customer", id)


@route("POST", "/v1/customers/{id}")
def update_customer(ctx, id):
    return update(
        ctx, "customer", id, CUSTOMER_FIELDS, apply=lambda c: _apply_customer_params(ctx, c)
    )


@route("DELETE", "/v1/customers/{id}")
def delete_customer(ctx, id):
    from ..billing import cancel_subscription  # billing depends on customers, not the reverse

    for sub in ctx.state.all("subscription"):
        if sub["customer"] == id and sub["status"] not in ("canceled", "incomplete_expired"):
            cancel_subscription(ctx.state, sub, reason="cancellation_requested")
    return delete(ctx, "customer", id)


def add_balance_transaction(state, customer, amount, currency, kind, description=None, **links):
    """Move the customer's balance (negative = credit) and record the transaction."""

    def change(c):
        c["balance"] = c["balance"] + amount

    mutate(state, customer, change, "customer.updated")
    txn = {
        "id": new_id("cbtxn"),
        "object": "customer_balance_transaction",
        "amount": amount,
        "checkout_session": None,
        "created": state.now(customer["id"]),
        "credit_note": None,
        "currency": currency,
        "customer": customer["id"],
        "customer_account": None,
        "description": description,
        "ending_balance": customer["balance"],
        "invoice": None,
        "livemode": False,
        "metadata": {},
        "type": kind,
    }
    txn.update(links)
    state.add(txn)
    return txn


@route("POST", "/v1/customers/{id}/balance_transactions")
def create_balance_transaction(ctx, id):
    cus = ctx.state.get("customer", id)
    amount = get_int(ctx.params, "amount", required=True)
    currency = get_str(ctx.params, "currency", required=True).lower()
    txn = add_balance_transaction(
        ctx.state, cus, amount, currency, "adjustment", get_str(ctx.params, "description")
    )
    apply_metadata(txn, ctx.params)
    return ctx.out(txn)


@route("GET", "/v1/customers/{id}/balance_transactions")
def list_balance_transactions(ctx, id):
    ctx.state.get("customer", id)
    return list_objects(
        ctx,
        "customer_balance_transaction",
        f"/v1/customers/{id}/balance_transactions",
        lambda t: t["customer"] == id,
    )


@route("GET", "/v1/customers/{id}/payment_methods")
def list_customer_payment_methods(ctx, id):
    ctx.state.get("customer", id)
    return list_objects(
        ctx,
        "payment_method",
        f"/v1/customers/{id}/payment_methods",
        lambda pm: pm["customer"] == id,
        ("type", "type"),
    )
