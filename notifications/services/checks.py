"""Daily checks that emit billing events nobody else emits on time: the trial-ending backstop (for a
lost or late `customer.subscription.trial_will_end` webhook) and cards about to expire. The trial
comes from the tenant's BillingAccount (the one source of its subscription state), the cards from
dj-stripe's mirror; the dedup keys match the webhook's, so a tenant hears about each thing once."""

from __future__ import annotations

import calendar
import datetime as dt

from django.conf import settings
from django.utils import timezone

from notifications.events import billing_event_emit


def trial_ending_dedup_key(subscription_id: str, trial_end: int) -> str:
    """The one key of a trial's ending, used by the webhook handler and this backstop alike."""
    return f"trial_ending:{subscription_id}:{int(trial_end)}"


def card_expiring_dedup_key(payment_method_id: str, exp_year: int, exp_month: int) -> str:
    return f"card_expiring:{payment_method_id}:{int(exp_year)}-{int(exp_month):02d}"


def trial_ending_check(*, tenant, now: dt.datetime | None = None) -> int:
    """Emit `trial_ending` when the tenant's subscription is trialing and its trial ends within
    NOTIFICATIONS_TRIAL_ENDING_DAYS. Returns how many events were new (0 or 1)."""
    from subscriptions.selectors import subscription_get_current

    now = now or timezone.now()
    horizon = now + dt.timedelta(days=settings.NOTIFICATIONS_TRIAL_ENDING_DAYS)
    account = subscription_get_current(tenant=tenant)
    if account is None or account.status != "trialing" or account.trial_end is None:
        return 0
    if not now < account.trial_end <= horizon:
        return 0
    trial_end = int(account.trial_end.timestamp())
    event = billing_event_emit(
        tenant=tenant,
        kind="trial_ending",
        object_id=account.subscription_id,
        dedup_key=trial_ending_dedup_key(account.subscription_id, trial_end),
        data={"trial_end": trial_end},
    )
    return 1 if event else 0


def _end_of_month(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def card_expiring_check(*, tenant, now: dt.datetime | None = None) -> int:
    """Emit `card_expiring` for each card of the tenant whose last valid day (the end of its expiry
    month) is within NOTIFICATIONS_CARD_EXPIRING_DAYS. Returns how many events were new."""
    from djstripe.models import PaymentMethod

    today = (now or timezone.now()).date()
    emitted = 0
    for method in PaymentMethod.objects.filter(customer__subscriber=tenant):
        card = (method.stripe_data or {}).get("card") or {}
        try:
            year, month = int(card["exp_year"]), int(card["exp_month"])
        except (KeyError, TypeError, ValueError):
            continue
        days_left = (_end_of_month(year, month) - today).days
        if not 0 <= days_left <= settings.NOTIFICATIONS_CARD_EXPIRING_DAYS:
            continue
        if billing_event_emit(
            tenant=tenant,
            kind="card_expiring",
            object_id=method.id,
            dedup_key=card_expiring_dedup_key(method.id, year, month),
            data={
                "brand": card.get("brand", ""),
                "last4": card.get("last4", ""),
                "exp_month": month,
                "exp_year": year,
            },
        ):
            emitted += 1
    return emitted
