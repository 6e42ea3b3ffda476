"""The plan catalog in Stripe: one Product per plan, a monthly and a yearly Price each."""

from __future__ import annotations

from collections.abc import Callable

from django.db import transaction

from subscriptions import gateway
from subscriptions.models import Plan
from tenants.services import audit_record

CYCLES = (("monthly", "month", "price_monthly", "stripe_price_id"),
          ("yearly", "year", "price_yearly", "stripe_price_id_yearly"))


def lookup_key_for(plan: Plan, cycle: str) -> str:
    return f"{plan.code}_{cycle}"


def _price_matches(price, *, amount: int, currency: str, interval: str) -> bool:
    return (price.unit_amount == amount and price.currency == currency and price.active
            and price.recurring and price.recurring.interval == interval)


def _stripe_ids(plan: Plan) -> dict:
    return {"product": plan.stripe_product_id or None, "monthly": plan.stripe_price_id or None,
            "yearly": plan.stripe_price_id_yearly or None}


def plan_sync_to_stripe(*, plan: Plan, actor: str = "system",
                        log: Callable[[str], None] = lambda _msg: None) -> list[str]:
    """Make Stripe match the plan: a Product, and Prices with lookup keys `<code>_monthly`/`<code>_yearly`.

    Idempotent: an unchanged plan changes nothing. Stripe prices are immutable, so a changed amount
    creates a new Price (which takes the lookup key over) and archives the old one.
    Returns what changed, for the command's progress output; a change is audit-logged.
    """
    changes = []
    before = _stripe_ids(plan)
    if plan.stripe_product_id:
        gateway.product_update(product_id=plan.stripe_product_id, name=plan.name, description=plan.description,
                               key=None)
    else:
        product = gateway.product_create(code=plan.code, name=plan.name, description=plan.description,
                                         key=f"product-create:{plan.code}")
        plan.stripe_product_id = product.id
        changes.append(f"product {product.id}")
    for cycle, interval, amount_field, id_field in CYCLES:
        amount = getattr(plan, amount_field)
        lookup_key = lookup_key_for(plan, cycle)
        current = gateway.price_get_by_lookup_key(lookup_key)
        if current is not None and current.product == plan.stripe_product_id and \
                _price_matches(current, amount=amount, currency=plan.currency, interval=interval):
            if getattr(plan, id_field) != current.id:
                setattr(plan, id_field, current.id)
                changes.append(f"{cycle} price {current.id} linked")
            continue
        price = gateway.price_create(product_id=plan.stripe_product_id, amount=amount, currency=plan.currency,
                                     interval=interval, lookup_key=lookup_key,
                                     key=f"price-create:{plan.stripe_product_id}:{cycle}:{amount}:{plan.currency}")
        old_ids = {getattr(plan, id_field)} | ({current.id} if current is not None else set())
        for old_id in old_ids - {"", price.id}:
            gateway.price_archive(price_id=old_id, key=f"price-archive:{old_id}")
            changes.append(f"{cycle} price {old_id} archived")
        setattr(plan, id_field, price.id)
        changes.append(f"{cycle} price {price.id} created")
    with transaction.atomic():
        Plan.objects.filter(pk=plan.pk).update(stripe_product_id=plan.stripe_product_id,
                                               stripe_price_id=plan.stripe_price_id,
                                               stripe_price_id_yearly=plan.stripe_price_id_yearly)
        if changes:
            audit_record(actor=actor, action="plan.sync_to_stripe", target=plan.code, before=before,
                         after={**_stripe_ids(plan), "changes": changes})
        # update() sends no post_save: drop the cached public catalog ourselves.
        from subscriptions.selectors import plan_catalog_invalidate
        transaction.on_commit(plan_catalog_invalidate)
    for change in changes:
        log(f"{plan.code}: {change}")
    return changes


def plan_sync_all_to_stripe(*, actor: str = "system", log: Callable[[str], None] = lambda _msg: None) -> int:
    """Every active plan; returns the number of changes."""
    total = 0
    plans = list(Plan.objects.filter(is_active=True).order_by("price_monthly", "code"))
    for index, plan in enumerate(plans, 1):
        changes = plan_sync_to_stripe(plan=plan, actor=actor)
        log(f"[{index}/{len(plans)}] {plan.code}: " + ("; ".join(changes) if changes else "up to date"))
        total += len(changes)
    return total


def plan_for_price(price_id: str) -> tuple[Plan | None, str]:
    """The plan and billing cycle of a Stripe price id (also archived ones, through the lookup key)."""
    plan = Plan.objects.filter(stripe_price_id=price_id).first()
    if plan is not None:
        return plan, "monthly"
    plan = Plan.objects.filter(stripe_price_id_yearly=price_id).first()
    if plan is not None:
        return plan, "yearly"
    price = gateway.price_retrieve(price_id)
    code, _, cycle = (price.lookup_key or "").rpartition("_")
    return Plan.objects.filter(code=code).first(), cycle if cycle in ("monthly", "yearly") else "monthly"
