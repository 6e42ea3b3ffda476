"""Invoice engine: invoices, lines, discounts, finalization, payments, dunning state.

Billing cycles (trials, renewals, prorations, previews) build on it in ``cycles.py``.

Simplifications (documented in README): a subscription invoice is finalized as soon as it is
created, or during a test clock's advance as soon as the endpoints answered its `invoice.created`
(Stripe waits ~1 hour more), and fees/taxes are zero.
"""

from __future__ import annotations

import calendar
import secrets
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

from .encoding import diff
from .errors import StripeError, invalid
from .events import emit, mutate
from .hosted_invoice import hosted_invoice_url
from .state import new_id

DAY = 86400


def add_interval(ts, interval, count=1):
    """``ts`` moved by ``count`` days/weeks/months/years; month ends clamp like Stripe's anchors."""
    if interval == "day":
        return ts + count * DAY
    if interval == "week":
        return ts + count * 7 * DAY
    dt = datetime.fromtimestamp(ts, tz=UTC)
    months = count * (12 if interval == "year" else 1)
    year, month = divmod(dt.month - 1 + months, 12)
    year, month = dt.year + year, month + 1
    day = min(dt.day, calendar.monthrange(year, month)[1])
    return int(dt.replace(year=year, month=month, day=day).timestamp())


def round_minor(value):
    """Round a Decimal amount to the currency's minor unit (amounts are already in minor units)."""
    return int(Decimal(value).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _transformed(price, quantity):
    """``transform_quantity``: the quantity divided and rounded to a whole number before pricing."""
    transform = price.get("transform_quantity")
    if not transform:
        return Decimal(quantity)
    rounding = "ROUND_CEILING" if transform["round"] == "up" else "ROUND_FLOOR"
    return (Decimal(quantity) / Decimal(transform["divide_by"])).quantize(
        Decimal(1), rounding=rounding
    )


def _unit_amount(price_or_tier):
    return Decimal(price_or_tier["unit_amount_decimal"] or price_or_tier["unit_amount"] or 0)


def _tier_flat(tier):
    return Decimal(tier["flat_amount_decimal"] or tier["flat_amount"] or 0)


def price_amount(price, quantity):
    """Unrounded amount (minor units, Decimal) of ``quantity`` at ``price``: per unit (after
    ``transform_quantity``), or tiered: ``graduated`` prices each tier's own units, ``volume`` prices
    every unit at the tier the total falls in. Flat amounts count for tiers that hold units."""
    quantity = Decimal(quantity)
    if price["billing_scheme"] != "tiered":
        return _unit_amount(price) * _transformed(price, quantity)
    tiers = price["_tiers"]
    if price["tiers_mode"] == "volume":
        tier = next(t for t in tiers if t["up_to"] is None or quantity <= t["up_to"])
        return (_unit_amount(tier) * quantity + _tier_flat(tier)) if quantity > 0 else Decimal(0)
    total, lower = Decimal(0), Decimal(0)
    for tier in tiers:
        upper = Decimal(tier["up_to"]) if tier["up_to"] is not None else None
        units = (quantity if upper is None else min(quantity, upper)) - lower
        if units <= 0:
            break
        total += _unit_amount(tier) * units + _tier_flat(tier)
        if upper is None:
            break
        lower = upper
    return total


# ---- lookups -------------------------------------------------------------------------------


def items_of(state, sub):
    """Live subscription items of a subscription, in creation order."""
    return [
        i
        for i in state.all("subscription_item", newest_first=False)
        if i["subscription"] == sub["id"]
    ]


def price_of(state, item):
    return state.get("price", item["price"])


def product_name(state, price):
    product = state.find(price["product"], "product")
    return product["name"] if product else price["product"]


def default_payment_method(state, invoice):
    """Invoice, then subscription, then customer default payment method."""
    if invoice.get("default_payment_method"):
        return invoice["default_payment_method"]
    sub = state.find(invoice.get("subscription"), "subscription")
    if sub and sub.get("default_payment_method"):
        return sub["default_payment_method"]
    customer = state.find(invoice["customer"], "customer")
    return customer["invoice_settings"]["default_payment_method"] if customer else None


# ---- invoices ------------------------------------------------------------------------------


def new_invoice(
    state,
    customer,
    *,
    subscription=None,
    reason="manual",
    collection_method="charge_automatically",
    period=None,
    currency=None,
    auto_advance=False,
    description=None,
    metadata=None,
    days_until_due=None,
    preview=False,
    service_start=None,
):
    """A draft invoice (stored unless ``preview``) with every dahlia field present.

    Subscription discounts are copied when still valid at ``service_start`` (the start of the
    period being charged, which for renewals is after the invoice's own period).
    """
    now = state.now(customer["id"])
    start, end = period or (now, now)
    inv_id = ("upcoming_in_" + secrets.token_hex(10)) if preview else new_id("in")
    inv = {
        "id": inv_id,
        "object": "invoice",
        "account_country": "US",
        "account_name": "Stripe Emulator",
        "account_tax_ids": None,
        "amount_due": 0,
        "amount_overpaid": 0,
        "amount_paid": 0,
        "amount_remaining": 0,
        "amount_shipping": 0,
        "application": None,
        "attempt_count": 0,
        "attempted": False,
        "auto_advance": auto_advance,
        "automatic_tax": {
            "disabled_reason": None,
            "enabled": False,
            "liability": None,
            "provider": None,
            "status": None,
        },
        "automatically_finalizes_at": None,
        "billing_reason": reason,
        "collection_method": collection_method,
        "created": now,
        "currency": currency or customer.get("currency") or "usd",
        "custom_fields": None,
        "customer": customer["id"],
        "customer_account": None,
        "customer_address": customer["address"],
        "customer_email": customer["email"],
        "customer_name": customer["name"],
        "customer_phone": customer["phone"],
        "customer_shipping": customer["shipping"],
        "customer_tax_exempt": customer["tax_exempt"],
        "customer_tax_ids": [],
        "default_payment_method": None,
        "default_source": None,
        "default_tax_rates": [],
        "description": description,
        "discounts": [],
        "due_date": now + days_until_due * DAY if days_until_due else None,
        "effective_at": None,
        "ending_balance": None,
        "footer": None,
        "from_invoice": None,
        "hosted_invoice_url": None,
        "invoice_pdf": None,
        "issuer": {"type": "self"},
        "last_finalization_error": None,
        "latest_revision": None,
        "livemode": False,
        "metadata": dict(metadata or {}),
        "next_payment_attempt": None,
        "number": None,
        "on_behalf_of": None,
        "parent": None,
        "payment_settings": {
            "default_mandate": None,
            "payment_method_options": None,
            "payment_method_types": None,
        },
        "period_end": end,
        "period_start": start,
        "post_payment_credit_notes_amount": 0,
        "pre_payment_credit_notes_amount": 0,
        "receipt_number": None,
        "rendering": {
            "amount_tax_display": None,
            "pdf": {"page_size": "auto"},
            "template": None,
            "template_version": None,
        },
        "shipping_cost": None,
        "shipping_details": None,
        "starting_balance": 0,
        "statement_descriptor": None,
        "status": "draft",
        "status_transitions": {
            "finalized_at": None,
            "marked_uncollectible_at": None,
            "paid_at": None,
            "voided_at": None,
        },
        "subscription": subscription["id"] if subscription else None,
        "subtotal": 0,
        "subtotal_excluding_tax": 0,
        "test_clock": customer["test_clock"],
        "total": 0,
        "total_discount_amounts": [],
        "total_excluding_tax": 0,
        "total_pretax_credit_amounts": [],
        "total_taxes": [],
        "webhooks_delivered_at": None,
        "_lines": [],
        "_pi": None,
        "_preview": preview,
    }
    if subscription:
        inv["parent"] = {
            "quote_details": None,
            "type": "subscription_details",
            "subscription_details": {
                "metadata": dict(subscription["metadata"]),
                "subscription": subscription["id"],
            },
        }
        at = service_start if service_start is not None else start
        inv["discounts"] = [d for d in subscription["discounts"] if _discount_applies(state, d, at)]
        inv["default_payment_method"] = None
    if not preview:
        state.add(inv)
    return inv


def _discount_applies(state, discount_id, at):
    discount = state.find(discount_id, "discount")
    if discount is None:
        return False
    if discount.get("_used"):
        return False
    return discount["end"] is None or at < discount["end"]


def add_line(
    state,
    inv,
    amount,
    description,
    period,
    *,
    price=None,
    quantity=1,
    subscription=None,
    item=None,
    invoice_item=None,
    proration=False,
    discountable=True,
    metadata=None,
):
    """Append a line item (dahlia shape: ``parent`` and ``pricing``) and return it. An invoice
    item's line keeps the item's ``discountable`` and ``metadata``, as Stripe's does."""
    line = {
        "id": ("il_tmp_" + secrets.token_hex(8)) if inv["_preview"] else new_id("il"),
        "object": "line_item",
        "amount": amount,
        "currency": inv["currency"],
        "description": description,
        "discount_amounts": [],
        "discountable": discountable,
        "discounts": [],
        "invoice": inv["id"],
        "livemode": False,
        "metadata": dict(metadata or {}),
        "parent": None,
        "period": {"end": period[1], "start": period[0]},
        "pretax_credit_amounts": [],
        "pricing": {
            "price_details": {"price": price["id"], "product": price["product"]} if price else None,
            "type": "price_details",
            "unit_amount_decimal": price["unit_amount_decimal"] if price else None,
        },
        "quantity": quantity,
        "quantity_decimal": str(quantity),
        "subscription": subscription,
        "subtotal": amount,
        "taxes": [],
    }
    details = {"proration": proration, "proration_details": {"credited_items": None}}
    if invoice_item:
        line["parent"] = {
            "type": "invoice_item_details",
            "subscription_item_details": None,
            "invoice_item_details": {
                "invoice_item": invoice_item,
                "subscription": subscription,
                **details,
            },
        }
    elif item:
        line["parent"] = {
            "type": "subscription_item_details",
            "invoice_item_details": None,
            "subscription_item_details": {
                "invoice_item": None,
                "subscription": subscription,
                "subscription_item": item,
                **details,
            },
        }
    inv["_lines"].append(line)
    return line


def pull_pending_items(state, inv, subscription_id=None):
    """Move the customer's pending invoice items (of this subscription or none) onto the invoice."""
    for ii in state.all("invoiceitem", newest_first=False):
        if ii["customer"] != inv["customer"] or ii["invoice"] is not None:
            continue
        ii_sub = (
            (ii.get("parent") or {}).get("subscription_details", {}).get("subscription")
            if ii.get("parent")
            else None
        )
        if ii_sub not in (None, subscription_id):
            continue
        price = state.find((ii["pricing"].get("price_details") or {}).get("price"), "price")
        add_line(
            state,
            inv,
            ii["amount"],
            ii["description"],
            (ii["period"]["start"], ii["period"]["end"]),
            price=price,
            quantity=ii["quantity"],
            subscription=ii_sub,
            invoice_item=ii["id"],
            proration=ii["proration"],
            # Proration lines keep the subscription's discounts, as the emulator always had them.
            discountable=ii["discountable"] or ii["proration"],
            metadata=ii["metadata"],
        )
        if not inv["_preview"]:
            ii["invoice"] = inv["id"]


def recompute(state, inv):
    """Subtotal, discounts (per line, like Stripe's ``discount_amounts``) and totals."""
    lines = inv["_lines"]
    subtotal = sum(line["amount"] for line in lines)
    for line in lines:
        line["discount_amounts"], line["discounts"] = [], []
    totals = []
    for discount_id in inv["discounts"]:
        coupon = state.find(state.get("discount", discount_id)["source"]["coupon"], "coupon")
        if coupon is None:
            continue
        per_line = {}
        if coupon["percent_off"] is not None:
            for line in lines:
                if line["discountable"]:
                    per_line[line["id"]] = round_minor(
                        Decimal(line["amount"]) * Decimal(str(coupon["percent_off"])) / 100
                    )
        elif coupon["currency"] == inv["currency"]:
            positive = [ln for ln in lines if ln["discountable"] and ln["amount"] > 0]
            base = sum(ln["amount"] for ln in positive)
            budget = min(coupon["amount_off"], max(base, 0))
            left = budget
            for i, line in enumerate(positive):
                share = (
                    left
                    if i == len(positive) - 1
                    else round_minor(Decimal(budget) * line["amount"] / base)
                )
                per_line[line["id"]] = share
                left -= share
        for line in lines:
            if per_line.get(line["id"]):
                line["discount_amounts"].append(
                    {"amount": per_line[line["id"]], "discount": discount_id}
                )
                line["discounts"].append(discount_id)
        totals.append({"amount": sum(per_line.values()), "discount": discount_id})
    discount_total = sum(t["amount"] for t in totals)
    total = subtotal - discount_total
    inv.update(
        subtotal=subtotal,
        subtotal_excluding_tax=subtotal,
        total_discount_amounts=totals,
        total=total,
        total_excluding_tax=total,
    )
    if inv["status"] == "draft":
        inv.update(amount_due=max(total, 0), amount_remaining=max(total, 0))
    return inv


def finalize(state, inv):
    """draft -> open: number, customer credit applied, PaymentIntent + invoice_payment created.

    An invoice whose amount due is zero (trials, full credit, 100% coupons) is paid at once.
    """
    from .resources.customers import add_balance_transaction
    from .resources.payment_intents import new_payment_intent

    if inv["status"] != "draft":
        raise invalid(
            "This invoice is already finalized, you can't re-finalize a non-draft invoice.",
            code="invoice_not_editable",
        )
    recompute(state, inv)
    customer = state.get("customer", inv["customer"])
    before = state.render(inv)
    now = state.now(customer["id"])
    inv["starting_balance"] = customer["balance"]
    total = inv["total"]
    due = max(total, 0)
    if total < 0:
        # A negative invoice (e.g. a downgrade's proration credit) becomes customer credit balance.
        add_balance_transaction(
            state, customer, total, inv["currency"], "applied_to_invoice", invoice=inv["id"]
        )
    elif total > 0 and customer["balance"] < 0:
        applied = min(-customer["balance"], total)
        add_balance_transaction(
            state, customer, applied, inv["currency"], "applied_to_invoice", invoice=inv["id"]
        )
        due = total - applied
    inv["ending_balance"] = customer["balance"]
    if customer.get("currency") is None:
        customer["currency"] = inv["currency"]
    number = f"{customer['invoice_prefix']}-{customer['next_invoice_sequence']:04d}"
    customer["next_invoice_sequence"] += 1
    inv.update(
        status="open",
        number=number,
        amount_due=due,
        amount_remaining=due,
        effective_at=now,
        hosted_invoice_url=hosted_invoice_url(state, inv["id"]),
        invoice_pdf=f"https://pay.stripe.com/invoice/emulator/{inv['id']}/pdf",
        webhooks_delivered_at=now,
    )
    inv["status_transitions"]["finalized_at"] = now
    if inv["collection_method"] == "charge_automatically" and due > 0:
        inv["next_payment_attempt"] = now
    if due > 0:
        pi = new_payment_intent(
            state,
            due,
            inv["currency"],
            customer["id"],
            description=f"Subscription {'creation' if inv['billing_reason'] == 'subscription_create' else 'update'}"
            if inv["subscription"]
            else None,
            invoice=inv["id"],
        )
        inv["_pi"] = pi["id"]
        state.add(
            {
                "id": new_id("inpay"),
                "object": "invoice_payment",
                "amount_paid": None,
                "amount_requested": due,
                "created": now,
                "currency": inv["currency"],
                "invoice": inv["id"],
                "is_default": True,
                "livemode": False,
                "payment": {"type": "payment_intent", "payment_intent": pi["id"]},
                "status": "open",
                "status_transitions": {"canceled_at": None, "paid_at": None},
                "_customer": customer["id"],
            }
        )
    state.dirty = True
    emit(state, "invoice.finalized", inv, previous=diff(before, state.render(inv)))
    if due == 0:
        mark_paid(state, inv)
    return inv


def mark_paid(state, inv, out_of_band=False):
    """open -> paid (payment or out of band); reactivates a past_due/unpaid/incomplete subscription."""
    now = state.now(inv["customer"])

    def change(i):
        i.update(
            status="paid",
            amount_paid=i["amount_due"],
            amount_remaining=0,
            next_payment_attempt=None,
            attempted=True if i["amount_due"] else i["attempted"],
        )
        i["status_transitions"]["paid_at"] = now

    mutate(state, inv, change)
    for payment in state.all("invoice_payment"):
        if payment["invoice"] == inv["id"] and payment["status"] == "open":

            def pay(p):
                p.update(status="paid", amount_paid=p["amount_requested"])
                p["status_transitions"]["paid_at"] = now

            mutate(state, payment, pay)
            emit(state, "invoice_payment.paid", payment)
    emit(state, "invoice.paid", inv)
    if not out_of_band:
        emit(state, "invoice.payment_succeeded", inv)
    for discount_id in inv["discounts"]:
        discount = state.find(discount_id, "discount")
        coupon = discount and state.find(discount["source"]["coupon"], "coupon")
        if coupon and coupon["duration"] == "once" and inv["subtotal"] > 0:
            discount["_used"] = True  # a "once" coupon is spent by the first invoice with charges
    sub = state.find(inv["subscription"], "subscription")
    if (
        sub
        and sub["status"] in ("incomplete", "past_due", "unpaid")
        and not _open_invoices(state, sub)
    ):
        set_status(state, sub, "active")


def _open_invoices(state, sub):
    return [
        i for i in state.all("invoice") if i["subscription"] == sub["id"] and i["status"] == "open"
    ]


def set_status(state, sub, status, event="customer.subscription.updated", **fields):
    """Change a subscription's status, emitting the update (with previous_attributes).

    While the subscription is being created no update is sent: its created event shows the result.
    """
    if sub.get("_creating"):
        sub.update(status=status, **fields)
        return
    mutate(state, sub, lambda s: s.update(status=status, **fields), event)


def attempt_payment(state, inv, payment_method=None):
    """Try to collect an open invoice; returns succeeded/failed/requires_action/no_payment_method."""
    from .resources.payment_intents import confirm

    pm = payment_method or default_payment_method(state, inv)
    pi = state.find(inv["_pi"], "payment_intent")
    if pi is None or inv["status"] != "open":
        return "succeeded" if inv["status"] == "paid" else "failed"
    if not pm:
        _record_failure(state, inv, "invoice.payment_failed")
        return "no_payment_method"
    try:
        return confirm(state, pi, pm, off_session=True)
    except StripeError as exc:
        if exc.body.get("code") != "payment_intent_invalid_parameter":
            raise
        # Automatic collection (a renewal, a retry) with a method that cannot pay the invoice's
        # currency (SEPA for a USD invoice): Stripe records the attempt as a failed payment.
        method = state.find(pm, "payment_method")
        pi["last_payment_error"] = {
            **exc.body,
            "payment_method": state.render(method) if method else None,
        }
        state.dirty = True
        _record_failure(state, inv, "invoice.payment_failed")
        return "failed"


def after_invoice_payment(state, pi, outcome):
    """Reflect a PaymentIntent outcome on its invoice and subscription (called by ``confirm``)."""
    inv = state.find(pi["_invoice"], "invoice")
    if inv is None or inv["status"] != "open":
        return
    if outcome == "processing":
        # A debit (SEPA) was submitted: attempted, not failed; it settles later (resources.debits).
        mutate(
            state,
            inv,
            lambda i: i.update(
                attempt_count=i["attempt_count"] + 1, attempted=True, next_payment_attempt=None
            ),
            "invoice.updated",
        )
        return
    if outcome == "succeeded":
        mutate(state, inv, lambda i: i.update(attempt_count=i["attempt_count"] + 1, attempted=True))
        mark_paid(state, inv)
    elif outcome == "failed":
        _record_failure(state, inv, "invoice.payment_failed")
    else:
        _record_failure(state, inv, "invoice.payment_action_required")


def next_retry_at(state, inv):
    """When automatic retries (an emulator setting) would next collect a failed invoice, or None."""
    retries = state.settings["retry_days"]
    if (
        not state.settings["automatic_retries"]
        or not inv.get("subscription")
        or "_first_failed_at" not in inv
    ):
        return None
    if inv["attempt_count"] > len(retries):
        return None
    return inv["_first_failed_at"] + int(retries[inv["attempt_count"] - 1]) * DAY


def _record_failure(state, inv, event_type):
    now = state.now(inv["customer"])
    sub = state.find(inv["subscription"], "subscription")

    def change(i):
        i.update(attempt_count=i["attempt_count"] + 1, attempted=True)
        i.setdefault("_first_failed_at", now)
        i["next_payment_attempt"] = next_retry_at(state, i)

    mutate(state, inv, change)
    emit(state, event_type, inv)
    if event_type != "invoice.payment_failed":
        emit(state, "invoice.payment_failed", inv)
    if sub is None:
        return
    if sub["status"] in ("active", "trialing"):
        set_status(state, sub, "past_due")
    exhausted = state.settings["automatic_retries"] and inv["next_payment_attempt"] is None
    if exhausted and sub["status"] == "past_due":
        if state.settings["after_retries"] == "unpaid":
            set_status(state, sub, "unpaid")
        else:
            cancel_subscription(state, sub, reason="payment_failed")


def cancel_subscription(state, sub, reason="cancellation_requested", comment=None, feedback=None):
    """End a subscription now: status canceled, ``customer.subscription.deleted``."""
    now = state.now(sub["customer"])

    def change(s):
        s.update(status="canceled", canceled_at=s["canceled_at"] or now, ended_at=now)
        s["cancellation_details"] = {"comment": comment, "feedback": feedback, "reason": reason}

    mutate(state, sub, change)
    emit(state, "customer.subscription.deleted", sub)


def new_invoice_item(
    state,
    customer_id,
    amount,
    currency,
    description,
    period,
    *,
    price=None,
    quantity=1,
    subscription=None,
    item=None,
    proration=False,
    invoice=None,
    metadata=None,
):
    """Store a pending (or draft-attached) invoice item and emit ``invoiceitem.created``."""
    ii = {
        "id": new_id("ii"),
        "object": "invoiceitem",
        "amount": amount,
        "currency": currency,
        "customer": customer_id,
        "customer_account": None,
        "date": state.now(customer_id),
        "description": description,
        "discountable": not proration,
        "discounts": [],
        "invoice": invoice,
        "livemode": False,
        "metadata": dict(metadata or {}),
        "net_amount": amount,
        "parent": {
            "type": "subscription_details",
            "subscription_details": {"subscription": subscription, "subscription_item": item},
        }
        if subscription
        else None,
        "period": {"end": period[1], "start": period[0]},
        "pricing": {
            "price_details": {"price": price["id"], "product": price["product"]} if price else None,
            "type": "price_details",
            "unit_amount_decimal": price["unit_amount_decimal"] if price else str(amount),
        },
        "proration": proration,
        "quantity": quantity,
        "quantity_decimal": str(quantity),
        "tax_rates": [],
        "test_clock": (state.find(customer_id, "customer") or {}).get("test_clock"),
    }
    state.add(ii)
    emit(state, "invoiceitem.created", ii)
    return ii
