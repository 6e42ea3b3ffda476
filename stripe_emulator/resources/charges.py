"""Charges, refunds and balance transactions (created by payments, never directly)."""

from __future__ import annotations

from ..encoding import get_int, get_str
from ..errors import invalid, missing_param
from ..events import emit, mutate
from ..routing import route
from ..state import new_id
from .base import list_objects, retrieve, update

DECLINE_MESSAGE = "Your card was declined."


def _balance_transaction(state, amount, currency, source, kind, customer):
    now = state.now(customer)
    # Fees are left at zero so amounts in tests stay exact; net equals amount.
    txn = {
        "id": new_id("txn"),
        "object": "balance_transaction",
        "amount": amount,
        "available_on": now,
        "balance_type": "payments",
        "created": now,
        "currency": currency,
        "description": None,
        "exchange_rate": None,
        "fee": 0,
        "fee_details": [],
        "net": amount,
        "reporting_category": "charge" if kind == "charge" else "refund",
        "source": source,
        "status": "available",
        "type": kind,
    }
    return state.add(txn)["id"]


def _method_details(pm, pi, succeeded):
    """``payment_method_details`` of a charge: the card's, or the SEPA account's / PayPal payer's."""
    if pm["type"] != "card":
        details = dict(pm.get(pm["type"]) or {})
        details.pop("generated_from", None)
        if pm["type"] == "sepa_debit":
            details.update(expected_debit_date=None, mandate=pm.get("_mandate"))
        if pm["type"] == "paypal":
            details.update(payer_name=pm["billing_details"].get("name"), transaction_id=None)
        return {pm["type"]: details, "type": pm["type"]}
    card = pm["card"]
    return {
        "card": {
            "amount_authorized": pi["amount"] if succeeded else None,
            "brand": card["brand"],
            "checks": card["checks"],
            "country": card["country"],
            "exp_month": card["exp_month"],
            "exp_year": card["exp_year"],
            "fingerprint": card["fingerprint"],
            "funding": card["funding"],
            "installments": None,
            "last4": card["last4"],
            "mandate": None,
            "network": card["brand"],
            "network_token": {"used": False},
            "three_d_secure": None,
            "wallet": None,
            "authorization_code": None,
            "regulated_status": "unregulated",
            "network_transaction_id": None,
        },
        "type": "card",
    }


def create_charge(state, pi, pm, succeeded, pending=False):
    """Record a charge for a PaymentIntent attempt and emit charge.succeeded/failed, or
    charge.pending for a debit that settles later (``settle_charge``)."""
    customer = pi["customer"]
    charge = {
        "id": new_id("ch"),
        "object": "charge",
        "amount": pi["amount"],
        "amount_captured": pi["amount"] if succeeded else 0,
        "amount_refunded": 0,
        "application": None,
        "application_fee": None,
        "application_fee_amount": None,
        "balance_transaction": None,
        "billing_details": pm["billing_details"],
        "calculated_statement_descriptor": "EMULATOR",
        "captured": succeeded,
        "created": state.now(customer),
        "currency": pi["currency"],
        "customer": customer,
        "description": pi["description"],
        "disputed": False,
        "failure_balance_transaction": None,
        "failure_code": None if succeeded else "card_declined",
        "failure_message": None if succeeded else DECLINE_MESSAGE,
        "fraud_details": {},
        "livemode": False,
        "metadata": dict(pi["metadata"]),
        "on_behalf_of": None,
        "outcome": {
            "advice_code": None,
            "network_advice_code": None,
            "network_decline_code": None,
            "network_status": "approved_by_network" if succeeded else "declined_by_network",
            "reason": None if succeeded else "generic_decline",
            "seller_message": "Payment complete."
            if succeeded
            else "The bank did not return any further details with this decline.",
            "type": "authorized" if succeeded else "issuer_declined",
        },
        "paid": succeeded,
        "payment_intent": pi["id"],
        "payment_method": pm["id"],
        "payment_method_details": _method_details(pm, pi, succeeded),
        "receipt_email": None,
        "receipt_number": None,
        "receipt_url": None,
        "refunded": False,
        "review": None,
        "shipping": None,
        "source": None,
        "source_transfer": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": "succeeded" if succeeded else "failed",
        "transfer_data": None,
        "transfer_group": None,
    }
    if pending:
        charge.update(
            status="pending",
            failure_code=None,
            failure_message=None,
            outcome={
                **charge["outcome"],
                "network_status": "approved_by_network",
                "reason": None,
                "seller_message": "Payment pending.",
                "type": "authorized",
            },
        )
        state.add(charge)
        emit(state, "charge.pending", charge)
        return charge
    if succeeded:
        charge["balance_transaction"] = _balance_transaction(
            state, pi["amount"], pi["currency"], charge["id"], "charge", customer
        )
    state.add(charge)
    emit(state, "charge.succeeded" if succeeded else "charge.failed", charge)
    return charge


def settle_charge(state, charge, succeeded, failure):
    """A pending debit settled: succeeded (captured, with its balance transaction) or failed."""

    def change(c):
        if succeeded:
            c.update(status="succeeded", paid=True, captured=True, amount_captured=c["amount"])
            c["outcome"]["seller_message"] = "Payment complete."
            c["balance_transaction"] = _balance_transaction(
                state, c["amount"], c["currency"], c["id"], "charge", c["customer"]
            )
        else:
            c.update(
                status="failed",
                failure_code=failure["code"],
                failure_message=failure["message"],
            )
            c["outcome"].update(
                network_status="declined_by_network",
                reason=failure["code"],
                seller_message=failure["message"],
                type="issuer_declined",
            )

    mutate(state, charge, change, "charge.succeeded" if succeeded else "charge.failed")


def _render_charge(state, charge, out):
    refunds = [state.render(r) for r in state.all("refund") if r["charge"] == charge["id"]]
    out["refunds"] = {
        "object": "list",
        "data": refunds[:10],
        "has_more": len(refunds) > 10,
        "url": f"/v1/charges/{charge['id']}/refunds",
    }
    return out


def refund_charge(state, charge, amount=None, reason=None, metadata=None):
    """Refund part or all of a charge; emits charge.refunded and refund.created."""
    remaining = charge["amount_captured"] - charge["amount_refunded"]
    if charge["status"] != "succeeded":
        raise invalid(
            f"Charge {charge['id']} has not succeeded and cannot be refunded.",
            code="charge_not_refundable",
        )
    if remaining <= 0:
        raise invalid(
            f"Charge {charge['id']} has already been refunded.", code="charge_already_refunded"
        )
    amount = remaining if amount is None else amount
    if amount <= 0 or amount > remaining:
        raise invalid(
            f"Refund amount ({amount}) is greater than unrefunded amount on charge ({remaining})",
            param="amount",
            code="amount_too_large",
        )
    customer = charge["customer"]
    refund = {
        "id": new_id("re"),
        "object": "refund",
        "amount": amount,
        "balance_transaction": None,
        "charge": charge["id"],
        "created": state.now(customer),
        "currency": charge["currency"],
        "destination_details": {
            "card": {
                "reference": None,
                "reference_status": "pending",
                "reference_type": "acquirer_reference_number",
                "type": "refund",
            },
            "type": "card",
        },
        "metadata": dict(metadata or {}),
        "payment_intent": charge["payment_intent"],
        "reason": reason,
        "receipt_number": None,
        "source_transfer_reversal": None,
        "status": "succeeded",
        "transfer_reversal": None,
        "_customer": customer,
    }
    refund["balance_transaction"] = _balance_transaction(
        state, -amount, charge["currency"], refund["id"], "refund", customer
    )
    state.add(refund)

    def change(c):
        c["amount_refunded"] += amount
        c["refunded"] = c["amount_refunded"] >= c["amount_captured"]

    mutate(state, charge, change, "charge.refunded")
    emit(state, "refund.created", refund)
    return refund


@route("POST", "/v1/refunds")
def create_refund(ctx):
    p = ctx.params
    charge_id, pi_id = get_str(p, "charge"), get_str(p, "payment_intent")
    if pi_id:
        pi = ctx.state.get("payment_intent", pi_id, param="payment_intent")
        charge_id = pi["latest_charge"]
        if not charge_id:
            raise invalid(
                f"PaymentIntent {pi_id} does not have a successful charge to refund.",
                param="payment_intent",
                code="charge_not_refundable",
            )
    if not charge_id:
        raise missing_param("charge")
    charge = ctx.state.get("charge", charge_id, param="charge")
    refund = refund_charge(
        ctx.state, charge, get_int(p, "amount"), get_str(p, "reason"), p.get("metadata")
    )
    return ctx.out(refund)


@route("GET", "/v1/refunds")
def list_refunds(ctx):
    return list_objects(
        ctx, "refund", "/v1/refunds", ("charge", "charge"), ("payment_intent", "payment_intent")
    )


@route("GET", "/v1/refunds/{id}")
def get_refund(ctx, id):
    return retrieve(ctx, "refund", id)


@route("POST", "/v1/refunds/{id}")
def update_refund(ctx, id):
    return update(ctx, "refund", id)


@route("GET", "/v1/charges")
def list_charges(ctx):
    return list_objects(
        ctx, "charge", "/v1/charges", ("customer", "customer"), ("payment_intent", "payment_intent")
    )


@route("GET", "/v1/charges/{id}")
def get_charge(ctx, id):
    return retrieve(ctx, "charge", id)


@route("POST", "/v1/charges/{id}")
def update_charge(ctx, id):
    return update(ctx, "charge", id, ("description",))


@route("GET", "/v1/charges/{id}/refunds")
def list_charge_refunds(ctx, id):
    ctx.state.get("charge", id)
    return list_objects(ctx, "refund", f"/v1/charges/{id}/refunds", lambda r: r["charge"] == id)


@route("GET", "/v1/balance_transactions")
def list_balance_transactions(ctx):
    return list_objects(
        ctx,
        "balance_transaction",
        "/v1/balance_transactions",
        ("source", "source"),
        ("type", "type"),
    )


@route("GET", "/v1/balance_transactions/{id}")
def get_balance_transaction(ctx, id):
    return retrieve(ctx, "balance_transaction", id)


RENDERERS_BY_TYPE = {"charge": _render_charge}
