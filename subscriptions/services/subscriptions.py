"""Subscribe, cancel, resume, change plan, preview a change, cancel now."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from django.db import transaction

from billing_project.errors import Conflict, InvalidRequest, NotFound
from billing_project.stripe_gateway import customers as stripe_customers
from billing_project.stripe_gateway import invoices as stripe_invoices
from billing_project.stripe_gateway import payment_methods as stripe_payment_methods
from billing_project.stripe_gateway import subscriptions as stripe_subscriptions
from billing_project.stripe_gateway.client import stripe_configured
from billing_project.stripe_gateway.data import StripeData
from billing_project.stripe_gateway.errors import StripeUnavailable
from billing_project.timestamps import from_ts
from subscriptions.models import LIVE_STATUSES, BillingAccount, Plan
from subscriptions.selectors import plan_paid_for
from subscriptions.services.catalog import plan_sync_to_stripe, price_id_for
from subscriptions.services.common import mirror, op_key
from subscriptions.services.customers import customer_ensure
from subscriptions.services.payment_methods import method_currency_check, paying_method_type
from subscriptions.services.state import account_apply_subscription, licensed_item, metered_items
from tenants.services import audit_record

logger = logging.getLogger(__name__)
if TYPE_CHECKING:
    from tenants.models import Tenant

MAX_TRIAL_DAYS = 90


def _plan_price(*, plan_id: str, billing_cycle: str) -> tuple[Plan, str]:
    plan = Plan.objects.filter(code=plan_id, is_active=True).first()
    if plan is None:
        raise InvalidRequest(
            f"No active plan {plan_id!r}.",
            code="plan_not_found",
            detail={"plan_id": ["Unknown plan."]},
        )
    if billing_cycle not in ("monthly", "yearly"):
        raise InvalidRequest(
            "billing_cycle is monthly or yearly.", detail={"billing_cycle": ["monthly or yearly"]}
        )
    if not _synced(plan, billing_cycle) and stripe_configured():
        # `make run` seeds before Stripe is up and a plan added in the admin may not be synced yet:
        # the (idempotent) catalog sync of this one plan runs on first use instead of failing.
        plan_sync_to_stripe(plan=plan, actor="system (first use)")
        plan.refresh_from_db()
    if not _synced(plan, billing_cycle):
        raise Conflict(
            f"Plan {plan.code} is not synced to Stripe yet (manage.py sync_plans_to_stripe).",
            code="plan_not_synced",
        )
    return plan, price_id_for(plan, billing_cycle)


def _synced(plan: Plan, cycle: str) -> bool:
    """The plan has its Stripe price for the cycle and, when it bills an overage, the overage price."""
    return bool(price_id_for(plan, cycle)) and (
        not plan.has_overage or bool(_overage_price_id(plan, cycle))
    )


def _overage_price_id(plan: Plan | None, cycle: str) -> str | None:
    """The plan's metered overage price for the cycle, None when the plan bills no overage."""
    if plan is None or not plan.has_overage:
        return None
    return price_id_for(plan, cycle, overage=True) or None


def _item_changes(
    current: StripeData, *, price_id: str, overage_price_id: str | None, keep_metered: bool = False
) -> list[dict[str, Any]]:
    """Subscription items for a plan change: the plan's item moves to the new price; the metered
    overage item is swapped, removed or added to match the new plan, unless `keep_metered`."""
    items = [{"id": licensed_item(current)["id"], "price": price_id}]
    return items if keep_metered else items + _metered_item_changes(current, overage_price_id)


def _metered_item_is_plans(current: StripeData, plan: Plan) -> bool:
    """One metered item on a price of this plan's product and cycle: an older overage price of the
    same plan is kept (grandfathered like the plan price itself) until the tenant changes plan."""
    metered = metered_items(current)
    if len(metered) != 1 or not plan.has_overage:
        return False
    price, plan_price = metered[0]["price"], licensed_item(current)["price"]
    return bool(
        price["product"] == plan.stripe_product_id
        and price["recurring"]["interval"] == plan_price["recurring"]["interval"]
    )


def _metered_item_changes(
    current: StripeData, overage_price_id: str | None
) -> list[dict[str, Any]]:
    metered = metered_items(current)
    changes = [
        {"id": item["id"], "deleted": True} for item in metered[1 if overage_price_id else 0 :]
    ]
    if overage_price_id and not metered:
        changes.append({"price": overage_price_id})
    elif overage_price_id and metered[0]["price"]["id"] != overage_price_id:
        changes.append({"id": metered[0]["id"], "price": overage_price_id})
    return changes


def _yearly_value(plan: Plan, cycle: str) -> int:
    return plan.price_monthly * 12 if cycle == "monthly" else plan.price_yearly


def _snapshot(account: BillingAccount) -> dict[str, Any]:
    return {
        "subscription_id": account.subscription_id or None,
        "status": account.status or None,
        "plan_id": account.plan.code if account.plan else None,
        "billing_cycle": account.billing_cycle or None,
        "cancel_at_period_end": account.cancel_at_period_end,
    }


def _locked_account(tenant: Tenant) -> BillingAccount:
    account = customer_ensure(tenant=tenant)
    return (
        BillingAccount.objects.select_for_update(of=("self",))
        .select_related("plan")
        .get(pk=account.pk)
    )


def _live_account(tenant: Tenant) -> BillingAccount:
    account = _locked_account(tenant)
    if not account.is_live:
        raise NotFound("This tenant has no live subscription.", code="no_subscription")
    return account


def _sync(account: BillingAccount, subscription: StripeData, tenant: Tenant) -> None:
    account_apply_subscription(account=account, subscription=subscription)
    mirror("Subscription", subscription)


def subscription_create(
    *,
    tenant: Tenant,
    plan_id: str,
    billing_cycle: str = "monthly",
    price_id: str | None = None,
    trial_days: int = 0,
    coupon: str | None = None,
    payment_method: str | None = None,
    actor: str = "system",
    request_key: str | None = None,
) -> tuple[BillingAccount, str | None]:
    """Subscribe the tenant to a plan. Returns the account and the client secret to confirm a first
    payment (None when nothing is to confirm).

    One live subscription per tenant (409 `subscription_exists`). A paid plan without a trial and
    without a usable card comes back `incomplete` with the secret; the free plan needs no card.
    """
    from coupons import services as coupon_services

    plan, plan_price_id = _plan_price(plan_id=plan_id, billing_cycle=billing_cycle)
    if price_id and price_id != plan_price_id:
        raise InvalidRequest(
            f"price_id is not the {billing_cycle} price of plan {plan.code}.",
            detail={"price_id": [f"Expected {plan_price_id}."]},
        )
    if not 0 <= int(trial_days or 0) <= MAX_TRIAL_DAYS:
        raise InvalidRequest("trial_days is between 0 and 90.", detail={"trial_days": ["0-90"]})
    recovered = _subscription_recover(tenant=tenant, actor=actor)
    if recovered is not None:
        account, subscription = recovered
        metadata = subscription.get("metadata") or {}
        if metadata.get("plan_id") == plan.code and metadata.get("billing_cycle") == billing_cycle:
            _raise_if_authentication_needed(subscription)
            return account, client_secret_of(subscription)
        raise Conflict(
            "This tenant already has a live subscription; change it instead.",
            code="subscription_exists",
        )
    if plan.price_monthly or plan.price_yearly:
        # A method that cannot pay the plan's currency (SEPA Direct Debit: EUR only) would make
        # Stripe refuse the first invoice or fail every renewal: a clear 400 now instead.
        method_currency_check(
            kind=paying_method_type(
                customer_id=customer_ensure(tenant=tenant).stripe_customer_id,
                payment_method=payment_method,
            ),
            currency=plan.currency,
            subject=f"plan {plan.code} is priced",
        )
    with transaction.atomic():
        # The account row lock serialises subscribing: two concurrent requests make one subscription.
        account = _locked_account(tenant)
        if account.is_live:
            raise Conflict(
                "This tenant already has a live subscription; change it instead.",
                code="subscription_exists",
            )
        before = _snapshot(account)
        if payment_method:
            pm = stripe_payment_methods.payment_method_attach(
                token=payment_method,
                customer_id=account.stripe_customer_id,
                key=op_key("pm-attach", tenant, request_key),
            )
            stripe_customers.customer_set_default_payment_method(
                customer_id=account.stripe_customer_id,
                payment_method_id=pm.id,
                key=op_key("pm-default", tenant, request_key),
            )
        redemption = coupon_services.coupon_redeem_for_new_subscription(
            tenant=tenant, plan=plan, code=coupon, actor=actor
        )
        items = [{"price": plan_price_id}]
        overage_price_id = _overage_price_id(plan, billing_cycle)
        if overage_price_id:
            items.append({"price": overage_price_id})  # metered: no quantity, billed from the meter
        params: dict[str, Any] = {
            "customer": account.stripe_customer_id,
            "items": items,
            # Collect now when a card is there; otherwise the subscription stays `incomplete`
            # and the client confirms the payment with the invoice's confirmation secret.
            "payment_behavior": "allow_incomplete",
            "metadata": {
                "tenant_id": str(tenant.id),
                "plan_id": plan.code,
                "billing_cycle": billing_cycle,
            },
        }
        if trial_days:
            params["trial_period_days"] = int(trial_days)
            # Without a card when the trial ends, Stripe cancels instead of billing a card it lacks.
            params["trial_settings"] = {"end_behavior": {"missing_payment_method": "cancel"}}
        if redemption is not None:
            params["discounts"] = [redemption.stripe_discount]
        subscription = stripe_subscriptions.subscription_create(
            params=params, key=op_key("sub-create", tenant, request_key)
        )
        if redemption is not None:
            coupon_services.redemption_attach(
                redemption=redemption.redemption, subscription_id=subscription.id
            )
        _sync(account, subscription, tenant)
        audit_record(
            actor=actor,
            action="subscription.create",
            tenant=tenant,
            target=subscription.id,
            before=before,
            after={**_snapshot(account), "coupon": redemption.code if redemption else None},
        )
    # Recorded first (the subscription exists, `incomplete`): then the 402 that lets the customer
    # authenticate the first payment.
    _raise_if_authentication_needed(subscription)
    return account, client_secret_of(subscription)


def _raise_if_authentication_needed(subscription: StripeData) -> None:
    """402 `authentication_required` when the subscription's latest invoice is open because its
    payment waits for the customer's 3-D Secure (a first invoice, an upgrade's proration)."""
    invoice = subscription.get("latest_invoice")
    if not invoice or subscription["status"] not in ("incomplete", "past_due", "unpaid"):
        return
    if not isinstance(invoice, str) and (
        invoice.get("status") != "open" or not invoice.get("amount_remaining")
    ):
        return
    error = stripe_invoices.invoice_action_required(
        invoice if isinstance(invoice, str) else invoice["id"]
    )
    if error is not None:
        raise error


def _subscription_recover(
    *, tenant: Tenant, actor: str
) -> tuple[BillingAccount, StripeData] | None:
    """(account, subscription) when Stripe has a live subscription of the tenant's customer that the
    account does not know, now recorded; else None.

    That is an earlier subscribe whose answer was lost (timeout, 5xx after the work) and whose
    transaction rolled back: a retry without the same Idempotency-Key would subscribe (and charge)
    a second time. One list call per subscribe, a rare request."""
    with transaction.atomic():
        account = _locked_account(tenant)
        if account.is_live:
            return None
        stray = next(
            (
                s
                for s in stripe_subscriptions.subscription_list(
                    customer_id=account.stripe_customer_id
                )
                if s["status"] in LIVE_STATUSES and s["id"] != account.subscription_id
            ),
            None,
        )
        if stray is None:
            return None
        before = _snapshot(account)
        subscription = stripe_subscriptions.subscription_retrieve(stray["id"])
        _sync(account, subscription, tenant)
        audit_record(
            actor=actor,
            action="subscription.recover",
            tenant=tenant,
            target=subscription.id,
            before=before,
            after=_snapshot(account),
        )
    return account, subscription


def client_secret_of(subscription: StripeData) -> str | None:
    """The secret the customer confirms a pending first payment with (dahlia: the invoice's
    confirmation_secret; absent when nothing is to pay)."""
    invoice = subscription.get("latest_invoice")
    if subscription["status"] != "incomplete" or not invoice or isinstance(invoice, str):
        return None
    secret = invoice.get("confirmation_secret")
    return secret.get("client_secret") if secret else None


def subscription_set_cancel_at_period_end(
    *, tenant: Tenant, cancel: bool, actor: str = "system", request_key: str | None = None
) -> BillingAccount:
    """Cancel at period end (True) or resume (False)."""
    with transaction.atomic():
        account = _live_account(tenant)
        before = _snapshot(account)
        subscription = stripe_subscriptions.subscription_update(
            subscription_id=account.subscription_id,
            params={"cancel_at_period_end": bool(cancel)},
            key=op_key("sub-cancel-at-end" if cancel else "sub-resume", tenant, request_key),
        )
        _sync(account, subscription, tenant)
        audit_record(
            actor=actor,
            action="subscription.cancel_at_period_end" if cancel else "subscription.resume",
            tenant=tenant,
            target=account.subscription_id,
            before=before,
            after=_snapshot(account),
        )
    if cancel:
        from notifications.events import billing_event_emit

        billing_event_emit(
            tenant=tenant,
            kind="subscription_cancel_scheduled",
            object_id=account.subscription_id,
            dedup_key=f"subscription_cancel_scheduled:{account.subscription_id}:"
            f"{int(account.current_period_end.timestamp()) if account.current_period_end else 0}",
            data={
                "cancel_at": account.current_period_end.isoformat()
                if account.current_period_end
                else None
            },
        )
    return account


def _change_is_immediate(account: BillingAccount, plan: Plan, cycle: str, when: str | None) -> bool:
    if (
        when == "now"
        or account.status in ("trialing", "incomplete")
        or cycle != account.billing_cycle
    ):
        # A trial has nothing paid to keep; an interval change restarts the billing cycle in Stripe.
        return True
    return _yearly_value(plan, cycle) >= _yearly_value(account.plan, account.billing_cycle)  # type: ignore[arg-type]  # a plan change starts from an account with a plan


def subscription_change_plan(
    *,
    tenant: Tenant,
    plan_id: str,
    billing_cycle: str | None = None,
    when: str | None = None,
    actor: str = "system",
    request_key: str | None = None,
) -> BillingAccount:
    """Upgrade now with proration (invoiced and collected at once); downgrade at period end unless
    `when="now"`. A downgrade at period end moves the Stripe price without proration, so the next
    renewal bills the new price, and keeps the old plan's entitlements until the period ends."""
    if when not in (None, "now", "period_end"):
        raise InvalidRequest(
            "when is 'now' or 'period_end'.", detail={"when": ["now or period_end"]}
        )
    with transaction.atomic():
        account = _live_account(tenant)
        cycle = billing_cycle or account.billing_cycle or "monthly"
        plan, price_id = _plan_price(plan_id=plan_id, billing_cycle=cycle)
        if account.plan_id == plan.pk and account.billing_cycle == cycle:
            raise Conflict("The subscription is already on this plan and cycle.", code="no_change")
        before = _snapshot(account)
        old_plan = account.plan
        immediate = _change_is_immediate(account, plan, cycle, when)
        current = stripe_subscriptions.subscription_retrieve(account.subscription_id)
        if _change_applied(current, plan=plan, cycle=cycle, price_id=price_id):
            # An earlier attempt reached Stripe but its answer was lost (timeout, 5xx after the work)
            # and our transaction rolled back: record what Stripe did. Sending it again would carry
            # other item changes under the same key (Stripe: idempotency error) or a new proration.
            subscription = current
        else:
            # A deferred downgrade keeps the old overage item: this period's usage is billed at the
            # renewal with the allowance the tenant keeps until then (swapped afterwards, see
            # subscription_metered_item_sync).
            items = _item_changes(
                current,
                price_id=price_id,
                overage_price_id=_overage_price_id(plan, cycle),
                keep_metered=not immediate,
            )
            params = {
                "items": items,
                "proration_behavior": "always_invoice" if immediate else "none",
                "metadata": {"plan_id": plan.code, "billing_cycle": cycle},
            }
            subscription = stripe_subscriptions.subscription_update(
                subscription_id=account.subscription_id,
                params=params,
                key=op_key("sub-change", tenant, request_key),
            )
        _sync(account, subscription, tenant)
        if immediate:
            account.previous_plan, account.previous_plan_until = None, None
        else:
            account.previous_plan, account.previous_plan_until = (
                old_plan,
                account.current_period_end,
            )
        account.save(update_fields=["previous_plan", "previous_plan_until", "updated"])
        audit_record(
            actor=actor,
            action="subscription.change_plan",
            tenant=tenant,
            target=account.subscription_id,
            before=before,
            after={**_snapshot(account), "effective": "now" if immediate else "period_end"},
        )
    from coupons import services as coupon_services

    # The new plan's auto-apply campaign, by the coupon's rules (none when a coupon is on already).
    try:
        coupon_services.coupon_auto_apply_on_plan_change(
            tenant=tenant, plan=plan, subscription_id=account.subscription_id, actor=actor
        )
    except StripeUnavailable:
        # The change itself is done and recorded; a retry would only find "no_change". The
        # redemption rolled back with its transaction, so the next change (or support) applies it.
        logger.warning("auto-apply coupon on plan change of %s: Stripe unavailable", tenant)
    if immediate:
        _raise_if_authentication_needed(subscription)
    return account


def _change_applied(current: StripeData, *, plan: Plan, cycle: str, price_id: str) -> bool:
    """Stripe's subscription already carries this plan change (its price and our metadata)."""
    metadata = current.get("metadata") or {}
    return (
        licensed_item(current)["price"]["id"] == price_id
        and metadata.get("plan_id") == plan.code
        and metadata.get("billing_cycle") == cycle
    )


def subscription_metered_item_sync(*, tenant: Tenant, actor: str = "system") -> bool:
    """Make the subscription's metered overage item match the plan it is on, once no earlier plan's
    entitlements are kept any more (a deferred downgrade swaps it after the renewal that billed the
    old plan's period). Idempotent; called after Stripe reports a subscription change and after a
    test clock advance. Returns whether Stripe was changed."""
    with transaction.atomic():
        account = _locked_account(tenant)
        if not account.is_live or account.plan is None:
            return False
        if plan_paid_for(account) != account.plan:
            return False  # the period was paid for on an earlier plan: its overage item stays until it ends
        target = _overage_price_id(account.plan, account.billing_cycle)
        if account.plan.has_overage and not target:
            return False  # not synced to Stripe yet: leave the subscription alone
        current = stripe_subscriptions.subscription_retrieve(account.subscription_id)
        if _metered_item_is_plans(current, account.plan):
            return False
        changes = _metered_item_changes(current, target)
        if not changes:
            return False
        before = _snapshot(account)
        subscription = stripe_subscriptions.subscription_update(
            subscription_id=account.subscription_id,
            params={"items": changes, "proration_behavior": "none"},
            key=op_key("sub-metered-sync", tenant),
        )
        _sync(account, subscription, tenant)
        audit_record(
            actor=actor,
            action="subscription.metered_item_sync",
            tenant=tenant,
            target=account.subscription_id,
            before=before,
            after={**_snapshot(account), "items": changes},
        )
    return True


def subscription_preview_change(
    *, tenant: Tenant, plan_id: str, billing_cycle: str | None = None, when: str | None = None
) -> dict[str, Any]:
    """What a plan change costs: Stripe's invoice preview of the change (due now) and of the next
    renewal with the new price. Money in minor units; the API renders decimal strings."""
    account = customer_ensure(tenant=tenant)
    if not account.is_live:
        raise NotFound("This tenant has no live subscription.", code="no_subscription")
    cycle = billing_cycle or account.billing_cycle or "monthly"
    plan, price_id = _plan_price(plan_id=plan_id, billing_cycle=cycle)
    current = stripe_subscriptions.subscription_retrieve(account.subscription_id)
    immediate = _change_is_immediate(account, plan, cycle, when)
    items = _item_changes(
        current,
        price_id=price_id,
        overage_price_id=_overage_price_id(plan, cycle),
        keep_metered=not immediate,
    )
    base = {"customer": account.stripe_customer_id, "subscription": account.subscription_id}
    now_invoice = None
    if immediate:
        now_invoice = stripe_invoices.invoice_preview(
            params={
                **base,
                "subscription_details": {"items": items, "proration_behavior": "always_invoice"},
            }
        )
    nxt = stripe_invoices.invoice_preview(
        params={**base, "subscription_details": {"items": items, "proration_behavior": "none"}}
    )
    if immediate and cycle != account.billing_cycle:
        next_date = (
            None  # the cycle restarts now: the new period's first invoice is the one due now
        )
    else:
        next_date = (
            from_ts(nxt.get("next_payment_attempt") or nxt.get("period_end"))  # type: ignore[attr-defined]  # dj-stripe's compat gives StripeObject dict's methods (stripe 15); stripe's types do not
            or account.current_period_end
        )
    lines = []
    for line in now_invoice["lines"]["data"] if now_invoice else []:
        parent = line.get("parent") or {}
        details = (
            parent.get("subscription_item_details") or parent.get("invoice_item_details") or {}
        )
        lines.append(
            {
                "description": line.get("description") or "",
                "amount": line["amount"],
                "proration": bool(details.get("proration")),
                "period_start": from_ts(line["period"]["start"]),
                "period_end": from_ts(line["period"]["end"]),
            }
        )
    return {
        "amount_due_now": now_invoice["amount_due"] if now_invoice else 0,
        "currency": (now_invoice or nxt)["currency"],
        "next_invoice_total": nxt["total"],
        "next_invoice_date": next_date,
        "lines": lines,
        "effective": "now" if immediate else "period_end",
    }


def subscription_cancel_now(
    *, tenant: Tenant, actor: str = "system", request_key: str | None = None
) -> BillingAccount:
    """End the subscription at once (no refund here; refunds are a finance action)."""
    with transaction.atomic():
        account = _live_account(tenant)
        before = _snapshot(account)
        subscription = stripe_subscriptions.subscription_cancel(
            subscription_id=account.subscription_id, key=op_key("sub-cancel", tenant, request_key)
        )
        subscription = stripe_subscriptions.subscription_retrieve(subscription.id)
        _sync(account, subscription, tenant)
        audit_record(
            actor=actor,
            action="subscription.cancel_now",
            tenant=tenant,
            target=account.subscription_id,
            before=before,
            after=_snapshot(account),
        )
    from notifications.events import billing_event_emit

    billing_event_emit(
        tenant=tenant, kind="subscription_canceled", object_id=account.subscription_id
    )
    return account
