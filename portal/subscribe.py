"""Reads behind the portal's subscribe pages: the plans offered for a billing cycle (with the
yearly saving) and the quote of a new subscription (what is due now, after a trial and a coupon).

Amounts are the catalog's (the Stripe prices are created from them, see subscriptions.services.
catalog); a coupon's discount is rounded half-up to the minor unit, as Stripe rounds it."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from subscriptions import selectors as subscription_selectors
from subscriptions.models import Plan

CYCLES = ("monthly", "yearly")


def cycle_of(value: str | None) -> str:
    return value if value in CYCLES else "monthly"


@dataclass(frozen=True)
class PlanOffer:
    plan: Plan
    cycle: str
    price: int  # minor units per cycle
    yearly_saving: int  # 12 monthly payments minus the yearly price (0 when none)
    yearly_saving_percent: int

    @property
    def is_free(self) -> bool:
        return self.plan.price_monthly == 0 and self.plan.price_yearly == 0


def plan_offer(plan: Plan, cycle: str) -> PlanOffer:
    twelve = plan.price_monthly * 12
    saving = max(0, twelve - plan.price_yearly)
    percent = (
        int((Decimal(saving) * 100 / twelve).to_integral_value(ROUND_HALF_UP)) if twelve else 0
    )
    return PlanOffer(
        plan=plan,
        cycle=cycle,
        price=plan.price_yearly if cycle == "yearly" else plan.price_monthly,
        yearly_saving=saving,
        yearly_saving_percent=percent,
    )


def plan_offers(*, tenant, cycle: str) -> list[PlanOffer]:
    """The public plans in the tenant's billing currency, by price, priced for `cycle`."""
    return [
        plan_offer(plan, cycle)
        for plan in subscription_selectors.plan_list_for_tenant(tenant=tenant)
    ]


def plan_offer_get(*, plan_id: str, cycle: str) -> PlanOffer | None:
    """A public, active plan priced for `cycle`, or None."""
    plan = subscription_selectors.plan_get(plan_id=plan_id)
    if plan is None or not plan.is_active or not plan.is_public:
        return None
    return plan_offer(plan, cycle)


def coupon_discount(coupon, amount: int) -> int:
    """What a coupon takes off `amount` (minor units), never more than the amount."""
    if coupon is None or amount <= 0:
        return 0
    if coupon.percent_off:
        off = (Decimal(amount) * coupon.percent_off / 100).to_integral_value(ROUND_HALF_UP)
        return min(amount, int(off))
    return min(amount, int(coupon.amount_off or 0))


@dataclass(frozen=True)
class SubscribeQuote:
    offer: PlanOffer
    coupon: object | None  # coupons.models.Coupon
    discount: int  # off the first invoice
    due_now: int  # 0 during a trial
    trial_days: int
    needs_payment_method: bool

    @property
    def currency(self) -> str:
        return self.offer.plan.currency


def subscribe_quote(*, offer: PlanOffer, coupon=None) -> SubscribeQuote:
    """What subscribing to `offer` costs now: the first invoice after the coupon, nothing during the
    plan's trial. A payment method is needed unless nothing is ever charged (free) or the plan's
    trial starts without one."""
    plan = offer.plan
    discount = coupon_discount(coupon, offer.price)
    trial = int(plan.trial_days or 0)
    due = 0 if trial else offer.price - discount
    needs = not offer.is_free and not (trial and plan.trial_without_card)
    return SubscribeQuote(
        offer=offer,
        coupon=coupon,
        discount=discount,
        due_now=due,
        trial_days=trial,
        needs_payment_method=needs,
    )
