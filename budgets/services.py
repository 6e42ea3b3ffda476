"""Spend budgets: writes. Setting or removing a budget is audited and drops the hot path's cached
state after commit; the check (after usage ingest, debounced, and every 5 minutes from beat) sends
each threshold's alert once per period and keeps the hard cap's state.

Alerts: one BudgetAlert row per (tenant, period, threshold) under a unique constraint, created in
the same transaction as the billing event that notifies the billing contacts (email + in-app) and
becomes the outbound webhook `budget.threshold_reached` (webhooks.catalogue): two workers checking
at once send it once.
"""

from __future__ import annotations

import logging
import re

from django.db import IntegrityError, transaction
from django_tenants.utils import tenant_context

from billing_project.errors import Conflict, InvalidRequest, NotFound
from billing_project.timestamps import iso_utc
from budgets import cache, selectors
from budgets.models import THRESHOLDS, Budget, BudgetAlert
from tenants.services import audit_record

logger = logging.getLogger(__name__)

# 999,999,999.99 of a two-decimal currency: the largest amount the API's money strings carry.
MAX_AMOUNT = 99_999_999_999
EVENT_KIND = "budget_threshold_reached"


def budget_not_set() -> NotFound:
    return NotFound("No spend budget is set; PUT /api/v1/budget sets one.", code="budget_not_set")


def _check(amount: int, currency: str) -> None:
    if not re.fullmatch(r"[a-z]{3}", currency or ""):
        raise InvalidRequest(
            "currency must be a lower-case ISO 4217 code.",
            detail={"currency": ["Lower-case ISO 4217 code, e.g. usd."]},
        )
    if not 0 < amount <= MAX_AMOUNT:
        raise InvalidRequest(
            "amount must be positive and at most 99,999,999,999 minor units.",
            detail={"amount": ["Positive, at most 99,999,999,999 minor units."]},
        )


def _snapshot(budget: Budget | None) -> dict | None:
    if budget is None:
        return None
    return {"amount": budget.amount, "currency": budget.currency, "hard_cap": budget.hard_cap}


def _changed(tenant) -> None:
    """After commit: the hot path reads the new state, and the alerts follow the new amount."""
    from budgets import tasks

    cache.state_cache_forget(tenant.schema_name, rearm_check=True)
    # Sent from the tenant's schema: tenant tasks run where they were sent from.
    with tenant_context(tenant):
        tasks.budget_check.delay()


def budget_set(*, tenant, amount: int, currency: str, hard_cap: bool, actor: str) -> Budget:
    """Set (create or change) the tenant's monthly spend budget, in the currency it is billed in
    (400 currency_mismatch otherwise). The hard cap's state follows the new amount at once;
    audited as `budgets.set`."""
    currency = (currency or "").lower()
    _check(amount, currency)
    billed_in = selectors.billed_currency(tenant=tenant)
    if billed_in is not None and billed_in != currency:
        raise InvalidRequest(
            f"A budget is set in the currency you are billed in ({billed_in}).",
            code="currency_mismatch",
            detail={"currency": [f"Must be {billed_in}."]},
        )
    spend = selectors.spend_get(tenant=tenant, currency=currency)
    with transaction.atomic():
        budget = Budget.objects.select_for_update().filter(tenant=tenant).first()
        before = _snapshot(budget)
        if budget is None:
            budget = Budget(tenant=tenant)
        budget.amount, budget.currency, budget.hard_cap = amount, currency, hard_cap
        budget.capped_until = spend.period_end if hard_cap and spend.spent >= amount else None
        try:
            with transaction.atomic():
                budget.save()
        except IntegrityError:  # another request created it between our read and write
            raise Conflict(
                "The budget was set by another request at the same time; retry."
            ) from None
        audit_record(
            actor=actor,
            action="budgets.set",
            tenant=tenant,
            target="budget",
            before=before,
            after=_snapshot(budget),
        )
        transaction.on_commit(lambda: _changed(tenant))
    return budget


def budget_delete(*, tenant, actor: str) -> None:
    """Remove the tenant's budget (and so its hard cap); audited as `budgets.deleted`. The alerts
    already sent stay on record. 404 budget_not_set when there is none."""
    with transaction.atomic():
        budget = Budget.objects.select_for_update().filter(tenant=tenant).first()
        if budget is None:
            raise budget_not_set()
        before = _snapshot(budget)
        budget.delete()
        audit_record(
            actor=actor, action="budgets.deleted", tenant=tenant, target="budget", before=before
        )
        transaction.on_commit(lambda: cache.state_cache_forget(tenant.schema_name))


def _event_data(budget: Budget, spend: selectors.Spend, threshold: int) -> dict:
    """The billing event's facts (money in minor units, as notifications read them)."""
    return {
        "threshold": threshold,
        "amount": budget.amount,
        "currency": budget.currency,
        "hard_cap": budget.hard_cap,
        "spent": spend.spent,
        "projected": spend.projected,
        # As the API renders times (UTC, "Z").
        "period_start": iso_utc(spend.period_start),
        "period_end": iso_utc(spend.period_end),
    }


def _alert_send(budget: Budget, spend: selectors.Spend, threshold: int) -> bool:
    """Record the threshold's alert for the period and emit its billing event, once."""
    from notifications.events import billing_event_emit

    tenant = budget.tenant
    try:
        with transaction.atomic():
            BudgetAlert.objects.create(
                tenant=tenant,
                period_start=spend.period_start,
                threshold=threshold,
                spent=spend.spent,
                amount=budget.amount,
                currency=budget.currency,
                sent_at=spend.now,
            )
            period = f"{spend.period_start:%Y-%m-%dT%H:%M:%S}"
            billing_event_emit(
                tenant=tenant,
                kind=EVENT_KIND,
                object_id=f"budget:{period}",
                dedup_key=f"{EVENT_KIND}:{period}:{threshold}",
                data=_event_data(budget, spend, threshold),
            )
    except IntegrityError:  # another worker sent it
        return False
    return True


def budget_check(*, tenant) -> list[int]:
    """Compare the period's spend with the budget: send each threshold reached (50, 80, 100%)
    that was not sent this period, and set or lift the hard cap. Returns the thresholds sent now.
    Cheap enough to run often: reads rollups and the billing account, never Stripe."""
    budget = selectors.budget_get(tenant=tenant)
    if budget is None:
        return []
    spend = selectors.spend_get(tenant=tenant, currency=budget.currency)
    sent = set(
        selectors.alert_list(tenant=tenant, period_start=spend.period_start).values_list(
            "threshold", flat=True
        )
    )
    fired = []
    for threshold in THRESHOLDS:
        if spend.spent * 100 < threshold * budget.amount:
            break
        if threshold not in sent and _alert_send(budget, spend, threshold):
            fired.append(threshold)
    capped_until = spend.period_end if budget.hard_cap and spend.spent >= budget.amount else None
    if capped_until != budget.capped_until:
        # Only over the budget as read: a change made meanwhile re-evaluates itself.
        Budget.objects.filter(pk=budget.pk, amount=budget.amount, hard_cap=budget.hard_cap).update(
            capped_until=capped_until
        )
        transaction.on_commit(lambda: cache.state_cache_forget(tenant.schema_name))
    return fired


def budget_check_debounce(*, tenant) -> tuple[str, int]:
    """The debounce claim of budget_usage_recorded (key, seconds): the usage ingest claims it with
    its other follow-ups in one Redis round trip (usage.counters.counters_store)."""
    return cache.check_debounce(tenant.schema_name)


def budget_usage_recorded(*, tenant) -> None:
    """After usage was ingested (committed), by the ingest that claimed budget_check_debounce
    (so at most once per CHECK_DEBOUNCE_SECONDS): schedule the tenant's check when it has a budget
    (the cached state, read only then; the check itself runs in a worker, after the window, so it
    sees every event of it)."""
    from budgets import tasks

    if selectors.budget_state(tenant=tenant) == cache.NONE:
        return
    try:
        with tenant_context(tenant):
            tasks.budget_check.apply_async(countdown=cache.CHECK_DEBOUNCE_SECONDS)
    except Exception:  # the broker is down: the event is stored; beat's check follows
        logger.warning("budget check of %s not scheduled", tenant.slug, exc_info=True)
