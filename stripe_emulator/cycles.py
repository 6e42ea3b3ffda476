"""Subscription billing cycles: periods, trial ends, renewals, prorations and invoice previews."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from decimal import Decimal

from .billing import (
    add_interval,
    add_line,
    attempt_payment,
    cancel_subscription,
    finalize,
    items_of,
    new_invoice,
    new_invoice_item,
    price_amount,
    price_of,
    product_name,
    pull_pending_items,
    recompute,
    round_minor,
    set_status,
)
from .events import emit, mutate


def plan_lines(state, inv, sub, period, trial=False):
    """Lines for licensed items for ``period`` (billed in advance)."""
    for item in items_of(state, sub):
        price = price_of(state, item)
        if price["recurring"]["usage_type"] == "metered":
            continue
        qty = item["quantity"]
        name = product_name(state, price)
        amount = 0 if trial else round_minor(price_amount(price, qty))
        text = f"Trial period for {name}" if trial else f"{qty} × {name}"
        add_line(
            state,
            inv,
            amount,
            text,
            period,
            price=price,
            quantity=qty,
            subscription=sub["id"],
            item=item["id"],
        )


def usage_lines(state, inv, sub, period):
    """Lines for metered items: usage of ``period`` (billed in arrears) from meter events."""
    from .resources.meters import aggregate_usage

    for item in items_of(state, sub):
        price = price_of(state, item)
        if price["recurring"]["usage_type"] != "metered":
            continue
        usage = aggregate_usage(
            state, price["recurring"]["meter"], sub["customer"], period[0], period[1]
        )
        qty = int(usage) if usage == int(usage) else usage
        # Rounded half-up to the minor unit once, on the line total (tiers sum unrounded amounts).
        rate = (
            "tiered"
            if price["billing_scheme"] == "tiered"
            else f"at {price['unit_amount_decimal']} / unit"
        )
        add_line(
            state,
            inv,
            round_minor(price_amount(price, usage)),
            f"{qty} × {product_name(state, price)} ({rate})",
            period,
            price=price,
            quantity=int(usage),
            subscription=sub["id"],
            item=item["id"],
        )


def subscription_invoice(
    state, sub, reason, period, previous_period=None, trial=False, collect=True
):
    """Create, finalize and (when charged automatically) collect a subscription invoice."""
    customer = state.get("customer", sub["customer"])
    inv = new_invoice(
        state,
        customer,
        subscription=sub,
        reason=reason,
        currency=sub["currency"],
        collection_method=sub["collection_method"],
        period=previous_period or period,
        auto_advance=True,
        days_until_due=sub["days_until_due"],
        service_start=period[0],
    )
    if previous_period:
        usage_lines(state, inv, sub, previous_period)
    plan_lines(state, inv, sub, period, trial=trial)
    pull_pending_items(state, inv, sub["id"])
    recompute(state, inv)
    created = emit(state, "invoice.created", inv)
    sub["latest_invoice"] = inv["id"]
    # Stripe leaves a renewal draft open until the endpoints answered `invoice.created` (then about
    # an hour): the application may add invoice items to it. A test clock's advance waits for the
    # answer (`draft_review`); the hour is not simulated.
    review = state.draft_review
    if review is not None and review[0] == threading.get_ident():
        review[1](created)
    if inv["status"] != "draft" or inv.get("_deleted"):
        return inv  # the application finalized (or deleted) the draft itself
    recompute(state, inv)
    finalize(state, inv)
    if collect and inv["status"] == "open" and inv["collection_method"] == "charge_automatically":
        attempt_payment(state, inv)
    return inv


def prorate(state, sub, changes, at, preview_invoice=None):
    """Proration invoice items for item changes, computed to the second like Stripe.

    ``changes`` holds ``(item, old_price, old_qty, new_price, new_qty)``; each gives a credit for the
    unused time of the old price and a charge for the remaining time of the new one.
    """
    created = []
    for item, old_price, old_qty, new_price, new_qty in changes:
        start, end = item["current_period_start"], item["current_period_end"]
        if at >= end or end <= start:
            continue
        fraction = Decimal(end - at) / Decimal(end - start)
        stamp = datetime.fromtimestamp(at, tz=UTC).strftime("%d %b %Y")
        parts = []
        if old_price and old_qty:
            parts.append(
                (
                    -round_minor(price_amount(old_price, old_qty) * fraction),
                    old_price,
                    old_qty,
                    f"Unused time on {old_qty} × {product_name(state, old_price)} after {stamp}",
                )
            )
        if new_price and new_qty:
            parts.append(
                (
                    round_minor(price_amount(new_price, new_qty) * fraction),
                    new_price,
                    new_qty,
                    f"Remaining time on {new_qty} × {product_name(state, new_price)} after {stamp}",
                )
            )
        for amount, price, qty, text in parts:
            if preview_invoice is not None:
                add_line(
                    state,
                    preview_invoice,
                    amount,
                    text,
                    (at, end),
                    price=price,
                    quantity=qty,
                    subscription=sub["id"],
                    item=item["id"],
                    proration=True,
                )
            else:
                created.append(
                    new_invoice_item(
                        state,
                        sub["customer"],
                        amount,
                        sub["currency"],
                        text,
                        (at, end),
                        price=price,
                        quantity=qty,
                        subscription=sub["id"],
                        item=item["id"],
                        proration=True,
                    )
                )
    return created


def interval_of(state, sub):
    """``(interval, interval_count)`` of the subscription's prices."""
    price = price_of(state, items_of(state, sub)[0])
    return price["recurring"]["interval"], price["recurring"]["interval_count"]


def cycle_period(state, sub, cycle):
    """Period number ``cycle`` counted from the billing cycle anchor (keeps month-end anchors)."""
    interval, count = interval_of(state, sub)
    anchor = sub["billing_cycle_anchor"]
    return add_interval(anchor, interval, count * cycle), add_interval(
        anchor, interval, count * (cycle + 1)
    )


def set_period(state, sub, period):
    """Move every item of the subscription to ``period`` (dahlia keeps periods on items)."""
    for item in items_of(state, sub):
        item["current_period_start"], item["current_period_end"] = period
    state.dirty = True


def current_period(state, sub):
    items = items_of(state, sub)
    return (
        (items[0]["current_period_start"], items[0]["current_period_end"])
        if items
        else (None, None)
    )


def restart_cycle(state, sub, at, reason, status="active", event="customer.subscription.updated"):
    """Anchor a new billing cycle at ``at`` (trial end, resume, interval change) and invoice it."""

    def change(s):
        s.update(status=status, billing_cycle_anchor=at, _cycles=0)
        set_period(state, s, cycle_period(state, s, 0))

    mutate(state, sub, change, event)
    return subscription_invoice(state, sub, reason, current_period(state, sub))


def end_trial(state, sub, at):
    """Trial over: pause/cancel without a payment method when configured, else bill and collect."""
    behaviour = sub["trial_settings"]["end_behavior"]["missing_payment_method"]
    customer = state.get("customer", sub["customer"])
    has_pm = sub["default_payment_method"] or customer["invoice_settings"]["default_payment_method"]
    if not has_pm and behaviour == "pause":
        set_status(state, sub, "paused", pause_collection=None)
        emit(state, "customer.subscription.paused", sub)
        return None
    if not has_pm and behaviour == "cancel":
        cancel_subscription(state, sub, reason="cancellation_requested")
        return None
    return restart_cycle(state, sub, at, "subscription_cycle")


def renew(state, sub):
    """Period end: advance every item one period and invoice (metered usage in arrears)."""
    previous = current_period(state, sub)

    def change(s):
        s["_cycles"] = s.get("_cycles", 0) + 1
        set_period(state, s, cycle_period(state, s, s["_cycles"]))

    mutate(state, sub, change, "customer.subscription.updated")
    return subscription_invoice(
        state, sub, "subscription_cycle", current_period(state, sub), previous
    )


def upcoming_invoice(state, sub, changes=None, proration_behavior="create_prorations", at=None):
    """Preview of the next invoice (``invoice.upcoming`` and ``create_preview``), never stored."""
    customer = state.get("customer", sub["customer"])
    start, end = current_period(state, sub)
    at = state.now(sub["customer"]) if at is None else at
    if changes and proration_behavior == "always_invoice":
        inv = new_invoice(
            state,
            customer,
            subscription=sub,
            reason="subscription_update",
            preview=True,
            currency=sub["currency"],
            period=(at, at),
        )
        prorate(state, sub, changes, at, preview_invoice=inv)
        return recompute(state, inv)
    if sub["status"] == "trialing":
        nxt = (
            sub["trial_end"],
            cycle_period(state, {**sub, "billing_cycle_anchor": sub["trial_end"]}, 0)[1],
        )
    else:
        nxt = (end, cycle_period(state, sub, sub.get("_cycles", 0) + 1)[1])
    inv = new_invoice(
        state,
        customer,
        subscription=sub,
        reason="upcoming",
        preview=True,
        currency=sub["currency"],
        period=(start, end),
        service_start=nxt[0],
    )
    usage_lines(state, inv, sub, (start, end))
    if changes and proration_behavior == "create_prorations":
        prorate(state, sub, changes, at, preview_invoice=inv)
    pull_pending_items(state, inv, sub["id"])
    saved = {i["id"]: (i["price"], i["quantity"]) for i in items_of(state, sub)}
    try:
        for item, _old, _oq, new_price, new_qty in changes or ():
            item["price"], item["quantity"] = (
                (new_price["id"] if new_price else item["price"]),
                new_qty,
            )
        plan_lines(state, inv, {**sub, "id": sub["id"]}, nxt)
    finally:
        for item in items_of(state, sub):
            if item["id"] in saved:
                item["price"], item["quantity"] = saved[item["id"]]
    inv["period_start"], inv["period_end"] = start, end
    return recompute(state, inv)
