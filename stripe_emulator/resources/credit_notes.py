"""Credit notes: reduce an open invoice, or refund / credit a paid one."""

from __future__ import annotations

from ..billing import mark_paid
from ..encoding import get_int, get_list, get_str, paginate
from ..errors import invalid, missing_param
from ..events import emit, mutate
from ..routing import route
from ..state import new_id
from .base import list_objects, retrieve, update
from .charges import refund_charge
from .customers import add_balance_transaction


def _lines(state, inv, params):
    lines = []
    for i, spec in enumerate(get_list(params, "lines")):
        kind = get_str(spec, "type", required=True)
        quantity = get_int(spec, "quantity", default=1)
        if kind == "invoice_line_item":
            line_id = get_str(spec, "invoice_line_item", required=True)
            line = next((ln for ln in inv["_lines"] if ln["id"] == line_id), None)
            if line is None:
                raise invalid(
                    f"No such invoice line item: '{line_id}'",
                    param=f"lines[{i}][invoice_line_item]",
                )
            unit = line["amount"] // max(line["quantity"] or 1, 1)
            amount = get_int(
                spec, "amount", default=unit * quantity if "quantity" in spec else line["amount"]
            )
            description = line["description"]
        elif kind == "custom_line_item":
            unit = get_int(
                spec, "unit_amount", required=True, param_name=f"lines[{i}][unit_amount]"
            )
            amount, line_id = unit * quantity, None
            description = get_str(spec, "description", required=True)
        else:
            raise invalid(
                "Invalid line type: must be invoice_line_item or custom_line_item",
                param=f"lines[{i}][type]",
            )
        lines.append(
            {
                "id": new_id("cnli"),
                "object": "credit_note_line_item",
                "amount": amount,
                "description": description,
                "discount_amount": 0,
                "discount_amounts": [],
                "invoice_line_item": line_id,
                "livemode": False,
                "metadata": {},
                "pretax_credit_amounts": [],
                "quantity": quantity,
                "tax_rates": [],
                "taxes": [],
                "type": kind,
                "unit_amount": amount // max(quantity, 1) if kind == "custom_line_item" else None,
                "unit_amount_decimal": str(amount // max(quantity, 1))
                if kind == "custom_line_item"
                else None,
            }
        )
    return lines


def _build(ctx):
    """Validate the params and compute the credit note without side effects (also used by preview)."""
    state, p = ctx.state, ctx.params
    inv = state.get("invoice", get_str(p, "invoice", required=True), param="invoice")
    if inv["status"] not in ("open", "paid"):
        raise invalid(
            "You can only create credit notes for open or paid invoices.", param="invoice"
        )
    lines = _lines(state, inv, p)
    total = sum(ln["amount"] for ln in lines) if lines else get_int(p, "amount")
    if total is None:
        raise missing_param("amount")
    if total <= 0:
        raise invalid("The credit note amount must be positive.", param="amount")
    refund, credit, oob = (
        get_int(p, k, default=0) for k in ("refund_amount", "credit_amount", "out_of_band_amount")
    )
    if inv["status"] == "open":
        kind = "pre_payment"
        if total > inv["amount_remaining"]:
            raise invalid(
                f"The credit note amount ({total}) exceeds the invoice's remaining amount "
                f"({inv['amount_remaining']}).",
                param="amount",
            )
    else:
        kind = "post_payment"
        available = inv["amount_paid"] - inv["post_payment_credit_notes_amount"]
        if total > available:
            raise invalid(
                f"The credit note amount ({total}) exceeds the amount paid that is not yet credited "
                f"({available}).",
                param="amount",
            )
        if not (refund or credit or oob):
            credit = total  # nothing chosen: the money goes to the customer's credit balance
        if refund + credit + oob != total:
            raise invalid(
                "refund_amount + credit_amount + out_of_band_amount must equal the credit note total "
                f"({total}).",
                param="amount",
            )
    seq = sum(1 for cn in state.all("credit_note") if cn["invoice"] == inv["id"]) + 1
    now = state.now(inv["customer"])
    cn = {
        "id": new_id("cn"),
        "object": "credit_note",
        "amount": total,
        "amount_shipping": 0,
        "created": now,
        "currency": inv["currency"],
        "customer": inv["customer"],
        "customer_account": None,
        "customer_balance_transaction": None,
        "discount_amount": 0,
        "discount_amounts": [],
        "effective_at": now,
        "invoice": inv["id"],
        "livemode": False,
        "memo": get_str(p, "memo"),
        "metadata": dict(p.get("metadata") or {}),
        "number": f"{inv['number']}-CN-{seq:02d}",
        "out_of_band_amount": oob or None,
        "pdf": f"https://pay.stripe.com/credit_notes/emulator/{inv['id']}/pdf",
        "post_payment_amount": total if kind == "post_payment" else 0,
        "pre_payment_amount": total if kind == "pre_payment" else 0,
        "pretax_credit_amounts": [],
        "reason": get_str(p, "reason"),
        "refunds": [],
        "shipping_cost": None,
        "status": "issued",
        "subtotal": total,
        "subtotal_excluding_tax": total,
        "total": total,
        "total_excluding_tax": total,
        "total_taxes": [],
        "type": kind,
        "voided_at": None,
        "_lines": lines,
    }
    return inv, cn, refund, credit


def _render_credit_note(state, cn, out):
    out["lines"] = {
        "object": "list",
        "data": cn["_lines"],
        "has_more": False,
        "url": f"/v1/credit_notes/{cn['id']}/lines",
    }
    return out


@route("GET", "/v1/credit_notes/preview")
def preview_credit_note(ctx):
    _inv, cn, _refund, _credit = _build(ctx)
    return _render_credit_note(
        ctx.state, cn, {k: v for k, v in cn.items() if not k.startswith("_")}
    )


@route("GET", "/v1/credit_notes/preview/lines")
def preview_credit_note_lines(ctx):
    _inv, cn, _refund, _credit = _build(ctx)
    return paginate(cn["_lines"], ctx.params, "/v1/credit_notes/preview/lines")


@route("POST", "/v1/credit_notes")
def create_credit_note(ctx):
    state = ctx.state
    inv, cn, refund, credit = _build(ctx)
    state.add(cn)
    if cn["type"] == "pre_payment":

        def reduce(i):
            i["pre_payment_credit_notes_amount"] += cn["total"]
            i["amount_due"] -= cn["total"]
            i["amount_remaining"] -= cn["total"]

        mutate(state, inv, reduce, "invoice.updated")
        pi = state.find(inv.get("_pi"), "payment_intent")
        if pi and inv["amount_remaining"] > 0:
            pi["amount"] = inv["amount_remaining"]
        if inv["amount_remaining"] == 0:
            # A fully credited open invoice counts as paid, like Stripe.
            mark_paid(state, inv, out_of_band=True)
    else:
        mutate(
            state,
            inv,
            lambda i: i.update(
                post_payment_credit_notes_amount=i["post_payment_credit_notes_amount"] + cn["total"]
            ),
            "invoice.updated",
        )
        if refund:
            pi = state.get("payment_intent", inv["_pi"])
            re = refund_charge(
                state, state.get("charge", pi["latest_charge"]), refund, "requested_by_customer"
            )
            cn["refunds"] = [{"amount_refunded": refund, "refund": re["id"]}]
        if credit:
            customer = state.get("customer", inv["customer"])
            txn = add_balance_transaction(
                state,
                customer,
                -credit,
                inv["currency"],
                "credit_note",
                credit_note=cn["id"],
                invoice=inv["id"],
            )
            cn["customer_balance_transaction"] = txn["id"]
    emit(state, "credit_note.created", cn)
    return ctx.out(cn)


@route("GET", "/v1/credit_notes")
def list_credit_notes(ctx):
    return list_objects(
        ctx, "credit_note", "/v1/credit_notes", ("invoice", "invoice"), ("customer", "customer")
    )


@route("GET", "/v1/credit_notes/{id}")
def get_credit_note(ctx, id):
    return retrieve(ctx, "credit_note", id)


@route("GET", "/v1/credit_notes/{id}/lines")
def list_credit_note_lines(ctx, id):
    cn = ctx.state.get("credit_note", id)
    return paginate(cn["_lines"], ctx.params, f"/v1/credit_notes/{id}/lines")


@route("POST", "/v1/credit_notes/{id}")
def update_credit_note(ctx, id):
    return update(ctx, "credit_note", id, ("memo",))


@route("POST", "/v1/credit_notes/{id}/void")
def void_credit_note(ctx, id):
    state = ctx.state
    cn = state.get("credit_note", id)
    if cn["status"] == "void":
        raise invalid("This credit note is already voided.")
    inv = state.get("invoice", cn["invoice"])
    if cn["type"] != "pre_payment" or inv["status"] != "open":
        raise invalid(
            "Only credit notes on open invoices can be voided; use a new credit note instead."
        )

    def restore(i):
        i["pre_payment_credit_notes_amount"] -= cn["total"]
        i["amount_due"] += cn["total"]
        i["amount_remaining"] += cn["total"]

    mutate(state, inv, restore, "invoice.updated")
    mutate(
        state,
        cn,
        lambda c: c.update(status="void", voided_at=state.now(cn["customer"])),
        "credit_note.voided",
    )
    return ctx.out(cn)


RENDERERS_BY_TYPE = {"credit_note": _render_credit_note}
