"""Invoices, invoice items, invoice payments and invoice previews."""

from __future__ import annotations

from .. import billing, cycles
from ..encoding import get_bool, get_int, get_list, get_str, paginate
from ..errors import StripeError, card_declined, invalid
from ..events import emit, mutate
from ..routing import route
from .base import delete, list_objects, retrieve, search_objects, update
from .discounts import redeem
from .payment_methods import resolve_payment_method


def _render_invoice(state, inv, out):
    lines = inv["_lines"]
    out["lines"] = {
        "object": "list",
        "data": lines[:10],
        "has_more": len(lines) > 10,
        "total_count": len(lines),
        "url": f"/v1/invoices/{inv['id']}/lines",
    }
    return out


def _payments(state, inv):
    data = [state.render(p) for p in state.all("invoice_payment") if p["invoice"] == inv["id"]]
    return {
        "object": "list",
        "data": data,
        "has_more": False,
        "total_count": len(data),
        "url": f"/v1/invoice_payments?invoice={inv['id']}",
    }


def _confirmation_secret(state, inv):
    pi = state.find(inv.get("_pi"), "payment_intent")
    if pi is None or inv["status"] != "open":
        return None
    return {"client_secret": pi["client_secret"], "type": "payment_intent"}


@route("POST", "/v1/invoices")
def create_invoice(ctx):
    p = ctx.params
    customer = ctx.state.get("customer", get_str(p, "customer", required=True), param="customer")
    sub = (
        ctx.state.get("subscription", p["subscription"], param="subscription")
        if p.get("subscription")
        else None
    )
    method = get_str(p, "collection_method") or "charge_automatically"
    days = get_int(p, "days_until_due")
    if method == "send_invoice" and days is None and not p.get("due_date"):
        raise invalid(
            "Invoices with collection_method=send_invoice need days_until_due or due_date.",
            param="days_until_due",
        )
    inv = billing.new_invoice(
        ctx.state,
        customer,
        subscription=sub,
        collection_method=method,
        currency=get_str(p, "currency"),
        auto_advance=get_bool(p, "auto_advance", False),
        description=get_str(p, "description"),
        metadata=p.get("metadata"),
        days_until_due=days,
    )
    if p.get("default_payment_method"):
        inv["default_payment_method"] = p["default_payment_method"]
    inv["discounts"] = [
        redeem(ctx.state, s, customer["id"], invoice=inv["id"])["id"]
        for s in get_list(p, "discounts")
        if isinstance(s, dict)
    ]
    # Since 2022-08-01 pending items stay pending unless asked for explicitly.
    if get_str(p, "pending_invoice_items_behavior") == "include":
        billing.pull_pending_items(ctx.state, inv, sub["id"] if sub else None)
    billing.recompute(ctx.state, inv)
    emit(ctx.state, "invoice.created", inv)
    return ctx.out(inv)


@route("POST", "/v1/invoices/create_preview")
def create_preview(ctx):
    state, p = ctx.state, ctx.params
    details = (
        p.get("subscription_details") if isinstance(p.get("subscription_details"), dict) else {}
    )
    sub_id = get_str(p, "subscription")
    if not sub_id:
        customer = state.get("customer", get_str(p, "customer", required=True), param="customer")
        inv = billing.new_invoice(state, customer, reason="manual", preview=True)
        billing.pull_pending_items(state, inv)
        return ctx.out(billing.recompute(state, inv))
    sub = state.get("subscription", sub_id, param="subscription")
    changes = []
    for i, spec in enumerate(get_list(details, "items")):
        param = f"subscription_details[items][{i}]"
        if spec.get("id"):
            item = state.get("subscription_item", spec["id"], param=f"{param}[id]")
            old = state.get("price", item["price"])
            new = (
                state.get("price", spec["price"], param=f"{param}[price]")
                if spec.get("price")
                else old
            )
            qty = (
                0
                if get_bool(spec, "deleted", False)
                else get_int(spec, "quantity", default=item["quantity"])
            )
            changes.append((item, old, item["quantity"] or 0, new if qty else None, qty or 0))
        elif spec.get("price"):
            new = state.get("price", spec["price"], param=f"{param}[price]")
            period = cycles.current_period(state, sub)
            probe = {
                "id": "si_preview",
                "current_period_start": period[0],
                "current_period_end": period[1],
            }
            metered = new["recurring"] and new["recurring"]["usage_type"] == "metered"
            changes.append(
                (probe, None, 0, new, 0 if metered else get_int(spec, "quantity", default=1))
            )
    behaviour = get_str(details, "proration_behavior") or "create_prorations"
    at = get_int(details, "proration_date")
    return ctx.out(cycles.upcoming_invoice(state, sub, changes, behaviour, at))


@route("GET", "/v1/invoices/search")
def search_invoices(ctx):
    return search_objects(ctx, "invoice", "/v1/invoices/search")


@route("GET", "/v1/invoices")
def list_invoices(ctx):
    return list_objects(
        ctx,
        "invoice",
        "/v1/invoices",
        ("customer", "customer"),
        ("subscription", "subscription"),
        ("status", "status"),
        ("collection_method", "collection_method"),
    )


@route("GET", "/v1/invoices/{id}")
def get_invoice(ctx, id):
    return retrieve(ctx, "invoice", id)


@route("GET", "/v1/invoices/{id}/lines")
def list_invoice_lines(ctx, id):
    inv = ctx.state.get("invoice", id)
    return paginate(inv["_lines"], ctx.params, f"/v1/invoices/{id}/lines")


@route("POST", "/v1/invoices/{id}")
def update_invoice(ctx, id):
    inv = ctx.state.get("invoice", id)
    editable = {"metadata", "expand", "description", "footer", "auto_advance"}
    if inv["status"] != "draft" and set(ctx.params) - editable:
        raise invalid(
            "You can only update metadata, description, footer and auto_advance of a finalized invoice.",
            code="invoice_not_editable",
        )

    def apply(i):
        for key in ("auto_advance",):
            if key in ctx.params:
                i[key] = get_bool(ctx.params, key)
        if "days_until_due" in ctx.params:
            i["due_date"] = i["created"] + get_int(ctx.params, "days_until_due") * billing.DAY

    return update(
        ctx,
        "invoice",
        id,
        ("description", "footer", "collection_method", "default_payment_method"),
        apply,
    )


@route("DELETE", "/v1/invoices/{id}")
def delete_invoice(ctx, id):
    if ctx.state.get("invoice", id)["status"] != "draft":
        raise invalid("You can only delete draft invoices.", code="invoice_not_editable")
    return delete(ctx, "invoice", id)


@route("POST", "/v1/invoices/{id}/finalize")
def finalize_invoice(ctx, id):
    inv = ctx.state.get("invoice", id)
    if "auto_advance" in ctx.params:
        inv["auto_advance"] = get_bool(ctx.params, "auto_advance")
    billing.finalize(ctx.state, inv)
    return ctx.out(inv)


@route("POST", "/v1/invoices/{id}/pay")
def pay_invoice(ctx, id):
    state = ctx.state
    inv = state.get("invoice", id)
    if inv["status"] == "draft":
        billing.finalize(state, inv)
    if inv["status"] == "paid":
        raise invalid("Invoice is already paid.")
    if inv["status"] != "open":
        raise invalid(
            f"You cannot pay this invoice because it is {inv['status']}.", code="invoice_not_open"
        )
    if get_bool(ctx.params, "paid_out_of_band", False):
        billing.mark_paid(state, inv, out_of_band=True)
        return ctx.out(inv)
    pm = get_str(ctx.params, "payment_method")
    if pm:
        pm = resolve_payment_method(state, pm)["id"]
    from .debits import check_currency

    # Paying on request with a method that cannot pay the currency is Stripe's 400, not a decline.
    check_currency(
        state.find(pm or billing.default_payment_method(state, inv), "payment_method"),
        inv["currency"],
    )
    outcome = billing.attempt_payment(state, inv, pm)
    if outcome == "no_payment_method":
        raise invalid(
            "This customer has no attached payment source or default payment method. Please consider "
            "adding a default payment method."
        )
    if outcome == "failed":
        pi = state.find(inv["_pi"], "payment_intent")
        raise card_declined(
            extra={"charge": pi["latest_charge"], "payment_intent": state.render(pi)}
        )
    if outcome == "requires_action":
        raise StripeError(
            402,
            "Payment for this invoice requires a payment method with additional authentication.",
            type="card_error",
            code="invoice_payment_intent_requires_action",
        )
    return ctx.out(inv)


def _close(ctx, id, status, stamp, event):
    inv = ctx.state.get("invoice", id)
    if inv["status"] != "open" and not (status == "void" and inv["status"] == "uncollectible"):
        raise invalid(
            f"You can only {'void' if status == 'void' else 'mark as uncollectible'} open invoices."
        )
    now = ctx.state.now(inv["customer"])

    def change(i):
        i.update(status=status, next_payment_attempt=None)
        if status == "void":
            i["amount_remaining"] = 0
        i["status_transitions"][stamp] = now

    mutate(ctx.state, inv, change, event)
    pi = ctx.state.find(inv.get("_pi"), "payment_intent")
    if status == "void" and pi and pi["status"] != "succeeded":
        pi.update(status="canceled", canceled_at=now, cancellation_reason="void_invoice")
        emit(ctx.state, "payment_intent.canceled", pi)
    return ctx.out(inv)


@route("POST", "/v1/invoices/{id}/void")
def void_invoice(ctx, id):
    return _close(ctx, id, "void", "voided_at", "invoice.voided")


@route("POST", "/v1/invoices/{id}/mark_uncollectible")
def mark_uncollectible(ctx, id):
    return _close(
        ctx, id, "uncollectible", "marked_uncollectible_at", "invoice.marked_uncollectible"
    )


@route("POST", "/v1/invoices/{id}/send")
def send_invoice(ctx, id):
    inv = ctx.state.get("invoice", id)
    if inv["status"] != "open":
        raise invalid("You can only send open invoices.")
    emit(ctx.state, "invoice.sent", inv)
    return ctx.out(inv)


# ---- invoice items --------------------------------------------------------------------------


@route("POST", "/v1/invoiceitems")
def create_invoice_item(ctx):
    state, p = ctx.state, ctx.params
    customer = state.get("customer", get_str(p, "customer", required=True), param="customer")
    price = None
    pricing = p.get("pricing") if isinstance(p.get("pricing"), dict) else {}
    price_id = pricing.get("price") or p.get("price")
    quantity = get_int(p, "quantity", default=1)
    if price_id:
        price = state.get("price", price_id, param="pricing[price]")
        amount, currency = (
            billing.round_minor(billing.price_amount(price, quantity)),
            price["currency"],
        )
    else:
        amount = get_int(p, "amount", required=True)
        currency = get_str(p, "currency", required=True).lower()
    inv = state.get("invoice", p["invoice"], param="invoice") if p.get("invoice") else None
    if inv and inv["status"] != "draft":
        raise invalid("You can only add invoice items to draft invoices.", param="invoice")
    now = state.now(customer["id"])
    period = p.get("period") if isinstance(p.get("period"), dict) else {}
    ii = billing.new_invoice_item(
        state,
        customer["id"],
        amount,
        currency,
        get_str(p, "description"),
        (get_int(period, "start", default=now), get_int(period, "end", default=now)),
        price=price,
        quantity=quantity,
        subscription=get_str(p, "subscription"),
        invoice=inv["id"] if inv else None,
        metadata=p.get("metadata"),
    )
    ii["discountable"] = get_bool(p, "discountable", True)
    if inv:
        billing.add_line(
            state,
            inv,
            amount,
            ii["description"],
            (ii["period"]["start"], ii["period"]["end"]),
            price=price,
            quantity=quantity,
            invoice_item=ii["id"],
            discountable=ii["discountable"],
            metadata=ii["metadata"],
        )
        billing.recompute(state, inv)
    return ctx.out(ii)


@route("GET", "/v1/invoiceitems")
def list_invoice_items(ctx):
    pending = get_bool(ctx.params, "pending")
    return list_objects(
        ctx,
        "invoiceitem",
        "/v1/invoiceitems",
        ("customer", "customer"),
        ("invoice", "invoice"),
        lambda ii: pending is None or (ii["invoice"] is None) == pending,
    )


@route("GET", "/v1/invoiceitems/{id}")
def get_invoice_item(ctx, id):
    return retrieve(ctx, "invoiceitem", id)


def _draft_line_sync(state, ii, remove=False):
    inv = state.find(ii["invoice"], "invoice")
    if inv is None:
        return
    if inv["status"] != "draft":
        raise invalid("This invoice item is on a finalized invoice and can no longer be changed.")
    for line in list(inv["_lines"]):
        if ((line.get("parent") or {}).get("invoice_item_details") or {}).get("invoice_item") == ii[
            "id"
        ]:
            if remove:
                inv["_lines"].remove(line)
            else:
                line.update(
                    amount=ii["amount"],
                    subtotal=ii["amount"],
                    description=ii["description"],
                    quantity=ii["quantity"],
                )
    billing.recompute(state, inv)


@route("POST", "/v1/invoiceitems/{id}")
def update_invoice_item(ctx, id):
    def apply(ii):
        if "amount" in ctx.params:
            ii["amount"] = ii["net_amount"] = get_int(ctx.params, "amount")
        if "quantity" in ctx.params:
            ii["quantity"] = get_int(ctx.params, "quantity")
        _draft_line_sync(ctx.state, ii)

    return update(ctx, "invoiceitem", id, ("description",), apply)


@route("DELETE", "/v1/invoiceitems/{id}")
def delete_invoice_item(ctx, id):
    _draft_line_sync(ctx.state, ctx.state.get("invoiceitem", id), remove=True)
    return delete(ctx, "invoiceitem", id)


# ---- invoice payments -----------------------------------------------------------------------


@route("GET", "/v1/invoice_payments")
def list_invoice_payments(ctx):
    payment = ctx.params.get("payment") if isinstance(ctx.params.get("payment"), dict) else {}
    return list_objects(
        ctx,
        "invoice_payment",
        "/v1/invoice_payments",
        ("invoice", "invoice"),
        ("status", "status"),
        lambda ip: (
            not payment.get("payment_intent")
            or ip["payment"].get("payment_intent") == payment["payment_intent"]
        ),
    )


@route("GET", "/v1/invoice_payments/{id}")
def get_invoice_payment(ctx, id):
    return retrieve(ctx, "invoice_payment", id)


RENDERERS_BY_TYPE = {"invoice": _render_invoice}
INCLUDES_BY_TYPE = {
    ("invoice", "payments"): _payments,
    ("invoice", "confirmation_secret"): _confirmation_secret,
}
