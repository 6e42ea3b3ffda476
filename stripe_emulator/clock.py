"""Test clock simulation: run what Stripe would between two frozen times, in time order."""

from __future__ import annotations

import logging
import threading

from . import billing, cycles
from .billing import DAY
from .events import emit, mutate
from .resources import debits

log = logging.getLogger("stripe_emulator")

ENDED = ("canceled", "incomplete_expired")
INCOMPLETE_EXPIRY = 23 * 3600
TRIAL_WILL_END_BEFORE = 3 * DAY


def _sub_actions(state, sub):
    """``(time, priority, fn)`` of what is due next for one subscription."""
    status = sub["status"]
    if status in ENDED or status == "paused":
        return []
    if status == "trialing":
        actions = [(sub["trial_end"], 2, lambda: cycles.end_trial(state, sub, sub["trial_end"]))]
        if not sub.get("_trial_will_end_sent"):

            def trial_will_end():
                sub["_trial_will_end_sent"] = True
                emit(state, "customer.subscription.trial_will_end", sub)

            actions.append(
                (max(sub["trial_end"] - TRIAL_WILL_END_BEFORE, sub["created"]), 0, trial_will_end)
            )
        return actions
    if status == "incomplete":
        return [(sub["created"] + INCOMPLETE_EXPIRY, 2, lambda: _expire(state, sub))]
    start, end = cycles.current_period(state, sub)
    if sub["cancel_at"] and sub["cancel_at"] <= end:
        return [(sub["cancel_at"], 2, lambda: billing.cancel_subscription(state, sub))]
    if sub["cancel_at_period_end"]:
        return [(end, 2, lambda: billing.cancel_subscription(state, sub))]
    actions = [(end, 2, lambda: cycles.renew(state, sub))]
    upcoming_at = end - int(state.settings["upcoming_days"]) * DAY
    if sub.get("_upcoming_for") != end and upcoming_at > start:

        def upcoming():
            sub["_upcoming_for"] = end
            emit(state, "invoice.upcoming", cycles.upcoming_invoice(state, sub, at=upcoming_at))

        actions.append((upcoming_at, 0, upcoming))
    return actions


def _expire(state, sub):
    """``incomplete`` for 23 hours: the first invoice is voided and the subscription ends."""
    now = state.now(sub["customer"])
    for inv in state.all("invoice"):
        if inv["subscription"] == sub["id"] and inv["status"] == "open":

            def void(i):
                i.update(status="void", amount_remaining=0, next_payment_attempt=None)
                i["status_transitions"]["voided_at"] = now

            mutate(state, inv, void, "invoice.voided")
    mutate(state, sub, lambda s: s.update(status="incomplete_expired", ended_at=now))
    emit(state, "customer.subscription.deleted", sub)


def pending_actions(state, clock):
    """Every due-able action for the clock's customers: subscriptions and payment retries."""
    customers = {c["id"] for c in state.all("customer") if c["test_clock"] == clock["id"]}
    actions = []
    for sub in state.all("subscription", newest_first=False):
        if sub["customer"] in customers:
            actions.extend(_sub_actions(state, sub))
    actions.extend(debits.pending_settlements(state, customers))  # SEPA debits settle in time
    if state.settings["automatic_retries"]:
        for inv in state.all("invoice", newest_first=False):
            # Computed here too, so failures from before retries were switched on get retried.
            due = billing.next_retry_at(state, inv) if inv["status"] == "open" else None
            if inv["customer"] in customers and due is not None:
                actions.append((due, 1, lambda i=inv: billing.attempt_payment(state, i)))
    return actions


def simulate(state, clock, target):
    """Run due actions up to ``target`` in time order, moving the clock's frozen time along."""
    for _ in range(10000):  # guard against an action that never stops being due
        due = [a for a in pending_actions(state, clock) if a[0] <= target]
        if not due:
            break
        when, _prio, action = min(due, key=lambda a: (a[0], a[1]))
        clock["frozen_time"] = max(clock["frozen_time"], when)
        action()
    clock["frozen_time"] = target
    state.dirty = True


def _await_answer(state, event, wait_for_deliveries):
    """Wait, with the state lock released (the endpoints call the API meanwhile), until every
    endpoint answered the first delivery of ``event`` (a renewal's ``invoice.created``)."""
    depth = 0
    while True:
        try:
            state.lock.release()
        except RuntimeError:  # released as often as this thread had taken it
            break
        depth += 1
    try:
        wait_for_deliveries([event["id"]])
    finally:
        for _ in range(depth):
            state.lock.acquire()


def advance(state, clock, target, wait_for_deliveries):
    """Background part of ``POST .../advance``: simulate, wait for first webhook attempts, then ready.

    ``ready`` is only set once every webhook produced by the advance had its first delivery attempt,
    so a caller polling the clock knows the application has seen them.
    """

    def run():
        produced, status = [], "ready"
        try:
            with state.lock:
                before = len(state.table("event"))
                state.draft_review = (
                    threading.get_ident(),
                    lambda event: _await_answer(state, event, wait_for_deliveries),
                )
                try:
                    simulate(state, clock, target)
                finally:
                    state.draft_review = None
                produced = list(state.table("event"))[before:]
        except Exception:  # noqa: BLE001 - reported on the clock like Stripe's internal_failure
            log.exception("test clock advance failed")
            status = "internal_failure"
        wait_for_deliveries(produced)
        with state.lock:
            clock.update(status=status, status_details={})
            state.dirty = True
            emit(
                state,
                "test_helpers.test_clock.ready"
                if status == "ready"
                else "test_helpers.test_clock.internal_failure",
                clock,
            )

    threading.Thread(target=run, daemon=True, name=f"stripe-emulator-{clock['id']}").start()
