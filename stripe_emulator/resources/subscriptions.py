"""Subscriptions and subscription items."""

from __future__ import annotations

from .. import billing, cycles
from ..encoding import apply_metadata, diff, get_bool, get_int, get_list, get_str
from ..errors import card_declined, invalid, missing_param
from ..events import emit
from ..routing import route
from ..state import new_id
from .base import list_objects, new_object, retrieve, search_objects
from .catalog import plan_from_price
from .discounts import redeem
from .payment_methods import attach, behaviour, resolve_payment_method

ENDED = ("canceled", "incomplete_expired")


def _render_subscription(state, sub, out):
    items = [state.render(i) for i in billing.items_of(state, sub)]
    out["items"] = {
        "object": "list",
        "data": items,
        "has_more": False,
        "total_count": len(items),
        "url": f"/v1/subscription_items?subscription={sub['id']}",
    }
    return out


def _render_item(state, item, out):
    price = state.find(item["price"], "price")
    out["price"] = state.render(price)
    out["plan"] = plan_from_price(price)
    return out


def _price(state, spec, param):
    price_id = spec.get("price") or spec.get("plan")
    if not price_id:
        raise missing_param(f"{param}[price]")
    price = state.get("price", price_id, param=f"{param}[price]")
    if price["type"] != "recurring":
        raise invalid(
            "The price specified is set to `type=one_time` but this field only accepts prices with "
            "`type=recurring`.",
            param=f"{param}[price]",
        )
    return price


def _new_item(state, sub, price, quantity, period, metadata=None):
    item = {
        "id": new_id("si", 14),
        "object": "subscription_item",
        "billing_thresholds": None,
        "created": state.now(sub["customer"]),
        "current_period_end": period[1],
        "current_period_start": period[0],
        "discounts": [],
        "metadata": dict(metadata or {}),
        "price": price["id"],
        "quantity": quantity,
        "subscription": sub["id"],
        "tax_rates": [],
    }
    if price["recurring"]["usage_type"] == "metered":
        item["quantity"] = None  # Stripe omits quantities on metered items
    return state.add(item)


def _payment_method(ctx, customer_id, value, param):
    if not value:
        return None
    pm = resolve_payment_method(ctx.state, value, param=param)
    if pm["customer"] is None:
        attach(ctx.state, pm, customer_id)
    if pm["customer"] != customer_id:
        raise invalid(
            f"The payment method `{value}` does not belong to this customer.", param=param
        )
    return pm["id"]


def _discount_specs(params):
    specs = [s for s in get_list(params, "discounts") if isinstance(s, dict)]
    for legacy in ("coupon", "promotion_code"):  # pre-basil parameters, still handy
        if params.get(legacy):
            specs.append({legacy: params[legacy]})
    return specs


def _processing(state, inv):
    pi = state.find(inv.get("_pi"), "payment_intent")
    return pi is not None and pi["status"] == "processing"


def _precheck_payment(ctx, customer, pm_id, amount):
    """``error_if_incomplete``: refuse before creating anything, as Stripe creates nothing then."""
    pm_id = pm_id or customer["invoice_settings"]["default_payment_method"]
    if amount <= 0:
        return
    if not pm_id:
        raise invalid(
            "This customer has no attached payment source or default payment method. Please "
            "consider adding a default payment method.",
            code="resource_missing",
        )
    kind = behaviour(ctx.state.find(pm_id, "payment_method"))
    if kind == "auth_required":
        raise card_declined(
            "Your card requires authentication.",
            code="subscription_payment_intent_requires_action",
            decline_code=None,
        )
    if kind != "ok":
        raise card_declined()


@route("POST", "/v1/subscriptions")
def create_subscription(ctx):
    state, p = ctx.state, ctx.params
    customer_id = get_str(p, "customer", required=True)
    customer = state.get("customer", customer_id, param="customer")
    specs = get_list(p, "items")
    if not specs:
        raise missing_param("items")
    prices = [(_price(state, spec, f"items[{i}]"), spec) for i, spec in enumerate(specs)]
    currencies = {pr["currency"] for pr, _ in prices}
    intervals = {
        (pr["recurring"]["interval"], pr["recurring"]["interval_count"]) for pr, _ in prices
    }
    if len(currencies) > 1 or len(intervals) > 1:
        raise invalid(
            "All prices on a subscription must have the same currency and billing interval.",
            param="items",
        )
    now = state.now(customer_id)
    trial_end = p.get("trial_end")
    if trial_end == "now" or trial_end in (None, ""):
        trial_end = None
        days = get_int(p, "trial_period_days")
        if days is None and get_bool(p, "trial_from_plan", False):
            days = prices[0][0]["recurring"]["trial_period_days"]
        if days:
            trial_end = now + days * billing.DAY
    else:
        trial_end = get_int(p, "trial_end")
        if trial_end <= now:
            raise invalid(
                "Invalid timestamp: must be an integer Unix timestamp in the future.",
                param="trial_end",
            )
    behaviour_ = get_str(p, "payment_behavior") or "allow_incomplete"
    pm_id = _payment_method(
        ctx, customer_id, get_str(p, "default_payment_method"), "default_payment_method"
    )
    first_amount = sum(
        billing.round_minor(billing.price_amount(pr, int(s.get("quantity") or 1)))
        for pr, s in prices
        if pr["recurring"]["usage_type"] != "metered"
    )
    if not trial_end and behaviour_ != "default_incomplete" and first_amount > 0:
        from .debits import check_currency

        # Stripe refuses at once a first invoice that the method cannot pay (SEPA: EUR only).
        method = pm_id or customer["invoice_settings"]["default_payment_method"]
        check_currency(state.find(method, "payment_method"), prices[0][0]["currency"])
    if behaviour_ == "error_if_incomplete" and not trial_end:
        _precheck_payment(ctx, customer, pm_id, first_amount)
    end_behaviour = ((p.get("trial_settings") or {}).get("end_behavior") or {}).get(
        "missing_payment_method"
    )
    sub = new_object(
        ctx,
        "subscription",
        "sub",
        owner=customer_id,
        application=None,
        application_fee_percent=None,
        automatic_tax={"disabled_reason": None, "enabled": False, "liability": None},
        billing_cycle_anchor=trial_end or now,
        billing_cycle_anchor_config=None,
        billing_mode={"flexible": None, "type": "classic", "updated_at": None},
        billing_schedules=[],
        billing_thresholds=None,
        cancel_at=get_int(p, "cancel_at"),
        cancel_at_period_end=get_bool(p, "cancel_at_period_end", False),
        canceled_at=None,
        cancellation_details={"comment": None, "feedback": None, "reason": None},
        collection_method=get_str(p, "collection_method") or "charge_automatically",
        currency=prices[0][0]["currency"],
        customer=customer_id,
        customer_account=None,
        days_until_due=get_int(p, "days_until_due"),
        default_payment_method=pm_id,
        default_source=None,
        default_tax_rates=[],
        description=get_str(p, "description"),
        discounts=[],
        ended_at=None,
        invoice_settings={"account_tax_ids": None, "issuer": {"type": "self"}},
        latest_invoice=None,
        managed_payments=None,
        next_pending_invoice_item_invoice=None,
        on_behalf_of=None,
        pause_collection=None,
        payment_settings={
            "payment_method_options": None,
            "payment_method_types": None,
            "save_default_payment_method": "off",
        },
        pending_invoice_item_interval=None,
        pending_setup_intent=None,
        pending_update=None,
        schedule=None,
        start_date=now,
        status="trialing" if trial_end else "incomplete",
        test_clock=customer["test_clock"],
        transfer_data=None,
        trial_end=trial_end,
        trial_settings={
            "end_behavior": {"missing_payment_method": end_behaviour or "create_invoice"}
        },
        trial_start=now if trial_end else None,
        _cycles=0,
        _creating=True,
    )
    state.add(sub)
    for price, spec in prices:
        _new_item(
            state, sub, price, int(spec.get("quantity") or 1), (now, now), spec.get("metadata")
        )
    period = (now, trial_end) if trial_end else cycles.cycle_period(state, sub, 0)
    cycles.set_period(state, sub, period)
    sub["discounts"] = [
        redeem(state, s, customer_id, subscription=sub["id"])["id"] for s in _discount_specs(p)
    ]
    inv = cycles.subscription_invoice(
        state,
        sub,
        "subscription_create",
        period,
        trial=bool(trial_end),
        collect=behaviour_ != "default_incomplete",
    )
    if not trial_end:
        # Stripe: a first payment still processing (SEPA Direct Debit) makes the subscription active.
        sub["status"] = (
            "active" if inv["status"] == "paid" or _processing(state, inv) else "incomplete"
        )
    del sub["_creating"]
    emit(state, "customer.subscription.created", sub)
    return ctx.out(sub)


def _apply_update(ctx, sub, params):
    """Everything a subscription update can change; shared by the subscription_items endpoints."""
    state = ctx.state
    if sub["status"] in ENDED:
        raise invalid(
            "A canceled subscription can only update its cancellation_details and metadata."
        )
    now = state.now(sub["customer"])
    proration = get_str(params, "proration_behavior") or "create_prorations"
    at = get_int(params, "proration_date", default=now)
    before = state.render(sub)
    changes, interval_changed = [], False
    old_interval = cycles.interval_of(state, sub)
    period = cycles.current_period(state, sub)
    for i, spec in enumerate(get_list(params, "items")):
        if spec.get("id"):
            item = state.get("subscription_item", spec["id"], param=f"items[{i}][id]")
            if item["subscription"] != sub["id"]:
                raise invalid(
                    f"Subscription item {spec['id']} is not part of this subscription.",
                    param=f"items[{i}][id]",
                )
            old_price = state.get("price", item["price"])
            if get_bool(spec, "deleted", False):
                changes.append((item, old_price, item["quantity"] or 0, None, 0))
                item["_deleted"] = True
                continue
            new_price = _price(state, spec, f"items[{i}]") if spec.get("price") else old_price
            qty = get_int(spec, "quantity", default=item["quantity"])
            if new_price["id"] != old_price["id"] or qty != item["quantity"]:
                changes.append((item, old_price, item["quantity"] or 0, new_price, qty or 0))
                item["price"], item["quantity"] = new_price["id"], qty
        else:
            new_price = _price(state, spec, f"items[{i}]")
            item = _new_item(
                state,
                sub,
                new_price,
                get_int(spec, "quantity", default=1),
                period,
                spec.get("metadata"),
            )
            changes.append((item, None, 0, new_price, item["quantity"] or 0))
        if (spec.get("price") or not spec.get("id")) and (
            new_price["recurring"]["interval"],
            new_price["recurring"]["interval_count"],
        ) != old_interval:
            interval_changed = True
    for key in ("description",):
        if key in params:
            sub[key] = params[key] or None
    if "cancel_at_period_end" in params:
        sub["cancel_at_period_end"] = get_bool(params, "cancel_at_period_end")
        sub["canceled_at"] = now if sub["cancel_at_period_end"] else None
    if "cancel_at" in params:
        sub["cancel_at"] = get_int(params, "cancel_at")
    if "default_payment_method" in params:
        sub["default_payment_method"] = _payment_method(
            ctx, sub["customer"], params["default_payment_method"], "default_payment_method"
        )
    if "collection_method" in params:
        sub["collection_method"] = params["collection_method"]
    if "days_until_due" in params:
        sub["days_until_due"] = get_int(params, "days_until_due")
    if "pause_collection" in params:
        pc = params["pause_collection"]
        sub["pause_collection"] = (
            {"behavior": pc.get("behavior"), "resumes_at": get_int(pc, "resumes_at")}
            if isinstance(pc, dict)
            else None
        )
    specs = _discount_specs(params)
    if specs or params.get("discounts") == "":
        sub["discounts"] = [
            redeem(state, s, sub["customer"], subscription=sub["id"])["id"] for s in specs
        ]
    apply_metadata(sub, params)
    state.dirty = True
    emit(state, "customer.subscription.updated", sub, previous=diff(before, state.render(sub)))
    trial_now = params.get("trial_end") == "now" and sub["status"] == "trialing"
    if trial_now:
        cycles.end_trial(state, sub, now)
    elif changes and sub["status"] != "trialing":
        if interval_changed:
            # Stripe resets the billing cycle when the interval changes and invoices at once.
            # Only the unused time of the old prices is credited; the new ones bill a full new period.
            cycles.prorate(
                state,
                sub,
                [(item, old, qty, None, 0) for item, old, qty, _n, _q in changes if old],
                at,
            )
            cycles.restart_cycle(state, sub, now, "subscription_update", status=sub["status"])
        elif proration != "none":
            cycles.prorate(state, sub, changes, at)
            if proration == "always_invoice":
                _invoice_now(state, sub)
    return sub


def _invoice_now(state, sub):
    customer = state.get("customer", sub["customer"])
    inv = billing.new_invoice(
        state,
        customer,
        subscription=sub,
        reason="subscription_update",
        currency=sub["currency"],
        auto_advance=True,
    )
    billing.pull_pending_items(state, inv, sub["id"])
    billing.recompute(state, inv)
    emit(state, "invoice.created", inv)
    sub["latest_invoice"] = inv["id"]
    billing.finalize(state, inv)
    if inv["status"] == "open":
        billing.attempt_payment(state, inv)
    return inv


@route("GET", "/v1/subscriptions/search")
def search_subscriptions(ctx):
    return search_objects(ctx, "subscription", "/v1/subscriptions/search")


@route("GET", "/v1/subscriptions")
def list_subscriptions(ctx):
    status = get_str(ctx.params, "status")
    price = get_str(ctx.params, "price")

    def status_ok(sub):
        if status == "all":
            return True
        if status == "ended":
            return sub["status"] in ENDED
        return sub["status"] == status if status else sub["status"] != "canceled"

    def price_ok(sub):
        return not price or any(i["price"] == price for i in billing.items_of(ctx.state, sub))

    return list_objects(
        ctx,
        "subscription",
        "/v1/subscriptions",
        ("customer", "customer"),
        ("test_clock", "test_clock"),
        status_ok,
        price_ok,
    )


@route("GET", "/v1/subscriptions/{id}")
def get_subscription(ctx, id):
    return retrieve(ctx, "subscription", id)


@route("POST", "/v1/subscriptions/{id}")
def update_subscription(ctx, id):
    sub = ctx.state.get("subscription", id)
    return ctx.out(_apply_update(ctx, sub, ctx.params))


@route("DELETE", "/v1/subscriptions/{id}")
def cancel_subscription(ctx, id):
    sub = ctx.state.get("subscription", id)
    if sub["status"] in ENDED:
        raise invalid(f"No such subscription: '{id}'", code="resource_missing")
    details = ctx.params.get("cancellation_details") or {}
    billing.cancel_subscription(
        ctx.state,
        sub,
        reason="cancellation_requested",
        comment=details.get("comment"),
        feedback=details.get("feedback"),
    )
    return ctx.out(sub)


@route("POST", "/v1/subscriptions/{id}/resume")
def resume_subscription(ctx, id):
    sub = ctx.state.get("subscription", id)
    if sub["status"] != "paused":
        raise invalid("Only paused subscriptions can be resumed.")
    now = ctx.state.now(sub["customer"])
    cycles.restart_cycle(ctx.state, sub, now, "subscription_cycle")
    emit(ctx.state, "customer.subscription.resumed", sub)
    return ctx.out(sub)


@route("GET", "/v1/subscription_items")
def list_subscription_items(ctx):
    sub_id = get_str(ctx.params, "subscription", required=True)
    sub = ctx.state.get("subscription", sub_id, param="subscription")
    return list_objects(
        ctx,
        "subscription_item",
        f"/v1/subscription_items?subscription={sub_id}",
        objects=billing.items_of(ctx.state, sub)[::-1],
    )


@route("GET", "/v1/subscription_items/{id}")
def get_subscription_item(ctx, id):
    return retrieve(ctx, "subscription_item", id)


def _item_update(ctx, sub_id, spec):
    sub = ctx.state.get("subscription", sub_id, param="subscription")
    params = {k: v for k, v in ctx.params.items() if k in ("proration_behavior", "proration_date")}
    params["items"] = [spec]
    _apply_update(ctx, sub, params)


@route("POST", "/v1/subscription_items")
def create_subscription_item(ctx):
    sub_id = get_str(ctx.params, "subscription", required=True)
    spec = {k: ctx.params[k] for k in ("price", "quantity", "metadata") if k in ctx.params}
    _item_update(ctx, sub_id, spec)
    return ctx.out(billing.items_of(ctx.state, ctx.state.get("subscription", sub_id))[-1])


@route("POST", "/v1/subscription_items/{id}")
def update_subscription_item(ctx, id):
    item = ctx.state.get("subscription_item", id)
    spec = {"id": id, **{k: ctx.params[k] for k in ("price", "quantity") if k in ctx.params}}
    _item_update(ctx, item["subscription"], spec)
    apply_metadata(item, ctx.params)
    return ctx.out(item)


@route("DELETE", "/v1/subscription_items/{id}")
def delete_subscription_item(ctx, id):
    item = ctx.state.get("subscription_item", id)
    _item_update(ctx, item["subscription"], {"id": id, "deleted": "true"})
    return {"id": id, "object": "subscription_item", "deleted": True}


RENDERERS_BY_TYPE = {"subscription": _render_subscription, "subscription_item": _render_item}
