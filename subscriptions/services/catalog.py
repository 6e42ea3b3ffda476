"""The plan catalog in Stripe: one Product per plan, a monthly and a yearly Price each, and for a
plan with an overage a metered monthly and yearly Price on the resource's billing meter."""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import transaction

from billing_project.stripe_gateway import catalog as stripe_catalog
from billing_project.stripe_gateway import meters as stripe_meters
from billing_project.stripe_gateway.data import StripeData
from billing_project.stripe_gateway.errors import StripeUnavailable
from subscriptions.models import Plan
from tenants.services import audit_record

CYCLES = (
    ("monthly", "month", "price_monthly", "stripe_price_id"),
    ("yearly", "year", "price_yearly", "stripe_price_id_yearly"),
)


# cycle, Stripe interval, months of allowance per period, plan field with the price id
OVERAGE_CYCLES = (
    ("monthly", "month", 1, "stripe_overage_price_id"),
    ("yearly", "year", 12, "stripe_overage_price_id_yearly"),
)


def price_id_for(plan: Plan, cycle: str, *, overage: bool = False) -> str:
    """The plan's Stripe price id for the cycle ("" until synced): its price, or its metered overage price."""
    monthly, yearly = OVERAGE_CYCLES if overage else CYCLES
    return str(getattr(plan, (monthly if cycle == "monthly" else yearly)[3]))


def lookup_key_for(plan: Plan, cycle: str) -> str:
    return f"{plan.code}_{cycle}"


def overage_lookup_key_for(plan: Plan, cycle: str) -> str:
    return f"{plan.code}_overage_{cycle}"


def overage_rate(plan: Plan) -> Decimal:
    """Minor units per single unit above the limit (Stripe takes up to 12 decimal places)."""
    rate = Decimal(plan.overage_unit_amount) / Decimal(plan.overage_block_size)
    return rate.quantize(Decimal("1e-12"), rounding=ROUND_HALF_UP).normalize()


def overage_tiers(plan: Plan, months: int) -> list[tuple[int | None, Decimal]]:
    """Graduated tiers `(up_to, unit amount)`: the period's allowance free, then the rate. A yearly
    subscription's allowance is the monthly limit times twelve, pooled over the year."""
    allowance = plan.overage_limit * months  # type: ignore[operator]  # Plan.clean requires the overage resource's limit
    return ([(allowance, Decimal(0))] if allowance else []) + [(None, overage_rate(plan))]


def _tiers_param(tiers: list[tuple[int | None, Decimal]]) -> list[dict[str, Any]]:
    return [
        {"up_to": "inf" if up_to is None else up_to, "unit_amount_decimal": format(amount, "f")}
        for up_to, amount in tiers
    ]


def _overage_matches(
    price: StripeData,
    *,
    plan: Plan,
    interval: str,
    meter_id: str,
    tiers: list[tuple[int | None, Decimal]],
) -> bool:
    recurring = price.recurring
    if not (
        price.active
        and price.product == plan.stripe_product_id
        and price.currency == plan.currency
        and recurring
        and recurring.interval == interval
        and recurring.usage_type == "metered"
        and recurring.meter == meter_id
        and price.billing_scheme == "tiered"
        and price.tiers_mode == "graduated"
    ):
        return False
    actual = [
        (
            t.up_to,
            Decimal(
                str(
                    t.unit_amount_decimal
                    if t.unit_amount_decimal is not None
                    else t.unit_amount or 0
                )
            ),
            t.flat_amount_decimal or t.flat_amount or 0,
        )
        for t in (price.get("tiers") or [])
    ]
    return actual == [(up_to, amount, 0) for up_to, amount in tiers]


def _meter_for(plan: Plan) -> str:

    event_name = stripe_meters.meter_event_name_for(plan.overage_resource)
    try:
        return stripe_meters.meter_ensure(event_name=event_name, display_name=plan.overage_resource)
    except stripe_meters.MeterPushError as exc:
        raise StripeUnavailable(
            f"The Stripe meter of {plan.overage_resource} is not available: {exc}"
        ) from exc


def _sync_overage(plan: Plan) -> list[str]:
    """The overage prices: created when missing or changed (limit, amount, block, meter), the old
    one archived; archived and unlinked when the plan has no overage any more."""
    changes = []
    meter_id = _meter_for(plan) if plan.has_overage else None
    for cycle, interval, months, id_field in OVERAGE_CYCLES:
        lookup_key = overage_lookup_key_for(plan, cycle)
        current = stripe_catalog.price_get_by_lookup_key(lookup_key, with_tiers=True)
        old_ids = {getattr(plan, id_field)} | (
            {current.id} if current is not None and current.active else set()
        )
        new_id = ""
        if plan.has_overage:
            tiers = overage_tiers(plan, months)
            if current is not None and _overage_matches(
                current,
                plan=plan,
                interval=interval,
                meter_id=meter_id,  # type: ignore[arg-type]  # set above when the plan has an overage
                tiers=tiers,
            ):
                if getattr(plan, id_field) != current.id:
                    setattr(plan, id_field, current.id)
                    changes.append(f"{cycle} overage price {current.id} linked")
                continue
            rate = format(overage_rate(plan), "f")
            price = stripe_catalog.metered_tiered_price_create(
                product_id=plan.stripe_product_id,
                currency=plan.currency,
                interval=interval,
                meter_id=meter_id,  # type: ignore[arg-type]  # set above when the plan has an overage
                tiers=_tiers_param(tiers),
                lookup_key=lookup_key,
                nickname=f"{plan.name}: {plan.overage_resource} above {tiers[0][0] or 0:,} per {interval}",
                key=f"price-create:{plan.stripe_product_id}:overage-{cycle}:{meter_id}:{tiers[0][0]}:{rate}:"
                f"{plan.currency}",
            )
            new_id = price.id
            changes.append(f"{cycle} overage price {price.id} created")
        for old_id in old_ids - {"", new_id}:
            stripe_catalog.price_archive(price_id=old_id, key=f"price-archive:{old_id}")
            changes.append(f"{cycle} overage price {old_id} archived")
        setattr(plan, id_field, new_id)
    return changes


def _price_matches(price: StripeData, *, amount: int, currency: str, interval: str) -> bool:
    return bool(
        price.unit_amount == amount
        and price.currency == currency
        and price.active
        and price.recurring
        and price.recurring.interval == interval
    )


def _stripe_ids(plan: Plan) -> dict[str, Any]:
    return {
        "product": plan.stripe_product_id or None,
        "monthly": plan.stripe_price_id or None,
        "yearly": plan.stripe_price_id_yearly or None,
        "overage_monthly": plan.stripe_overage_price_id or None,
        "overage_yearly": plan.stripe_overage_price_id_yearly or None,
    }


def plan_sync_to_stripe(
    *, plan: Plan, actor: str = "system", log: Callable[[str], None] = lambda _msg: None
) -> list[str]:
    """Make Stripe match the plan: a Product, and Prices with lookup keys `<code>_monthly`/`<code>_yearly`,
    plus, for an overage, metered graduated-tier Prices `<code>_overage_monthly`/`_yearly`.

    Idempotent: an unchanged plan changes nothing. Stripe prices are immutable, so a changed amount
    creates a new Price (which takes the lookup key over) and archives the old one.
    Returns what changed, for the command's progress output; a change is audit-logged.
    """
    changes = []
    before = _stripe_ids(plan)
    if plan.stripe_product_id:
        stripe_catalog.product_update(
            product_id=plan.stripe_product_id,
            name=plan.name,
            description=plan.description,
            key=None,
        )
    else:
        product = stripe_catalog.product_create(
            code=plan.code,
            name=plan.name,
            description=plan.description,
            key=f"product-create:{plan.code}",
        )
        plan.stripe_product_id = product.id
        changes.append(f"product {product.id}")
    for cycle, interval, amount_field, id_field in CYCLES:
        amount = getattr(plan, amount_field)
        lookup_key = lookup_key_for(plan, cycle)
        current = stripe_catalog.price_get_by_lookup_key(lookup_key)
        if (
            current is not None
            and current.product == plan.stripe_product_id
            and _price_matches(current, amount=amount, currency=plan.currency, interval=interval)
        ):
            if getattr(plan, id_field) != current.id:
                setattr(plan, id_field, current.id)
                changes.append(f"{cycle} price {current.id} linked")
            continue
        price = stripe_catalog.price_create(
            product_id=plan.stripe_product_id,
            amount=amount,
            currency=plan.currency,
            interval=interval,
            lookup_key=lookup_key,
            key=f"price-create:{plan.stripe_product_id}:{cycle}:{amount}:{plan.currency}",
        )
        old_ids = {getattr(plan, id_field)} | ({current.id} if current is not None else set())
        for old_id in old_ids - {"", price.id}:
            stripe_catalog.price_archive(price_id=old_id, key=f"price-archive:{old_id}")
            changes.append(f"{cycle} price {old_id} archived")
        setattr(plan, id_field, price.id)
        changes.append(f"{cycle} price {price.id} created")
    changes += _sync_overage(plan)
    with transaction.atomic():
        Plan.objects.filter(pk=plan.pk).update(
            stripe_product_id=plan.stripe_product_id,
            stripe_price_id=plan.stripe_price_id,
            stripe_price_id_yearly=plan.stripe_price_id_yearly,
            stripe_overage_price_id=plan.stripe_overage_price_id,
            stripe_overage_price_id_yearly=plan.stripe_overage_price_id_yearly,
        )
        if changes:
            audit_record(
                actor=actor,
                action="plan.sync_to_stripe",
                target=plan.code,
                before=before,
                after={**_stripe_ids(plan), "changes": changes},
            )
        # update() sends no post_save: drop the cached public catalog ourselves.
        from subscriptions.selectors import plan_catalog_invalidate

        transaction.on_commit(plan_catalog_invalidate)
    for change in changes:
        log(f"{plan.code}: {change}")
    return changes


def plan_sync_all_to_stripe(
    *, actor: str = "system", log: Callable[[str], None] = lambda _msg: None
) -> int:
    """Every active plan; returns the number of changes."""
    total = 0
    plans = list(Plan.objects.filter(is_active=True).order_by("price_monthly", "code"))
    for index, plan in enumerate(plans, 1):
        changes = plan_sync_to_stripe(plan=plan, actor=actor)
        log(
            f"[{index}/{len(plans)}] {plan.code}: "
            + ("; ".join(changes) if changes else "up to date")
        )
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
    price = stripe_catalog.price_retrieve(price_id)
    code, _, cycle = (price.lookup_key or "").rpartition("_")
    return Plan.objects.filter(code=code).first(), cycle if cycle in (
        "monthly",
        "yearly",
    ) else "monthly"
