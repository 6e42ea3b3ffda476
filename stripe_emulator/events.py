"""Recording Events the way Stripe shapes them, and the helper every update goes through."""

from __future__ import annotations

import fnmatch

from .encoding import diff
from .state import API_VERSION, new_id


def endpoint_matches(endpoint, event_type):
    """Whether an enabled webhook endpoint subscribes to an event type (``*`` matches all)."""
    if endpoint.get("status") != "enabled" or endpoint.get("_deleted"):
        return False
    return any(p == "*" or fnmatch.fnmatchcase(event_type, p) for p in endpoint["enabled_events"])


def emit(state, event_type, obj, previous=None, created=None):
    """Record an event about ``obj`` (a stored object) and notify the webhook dispatcher.

    ``data.object`` is a snapshot taken now, as Stripe's events are; ``created`` follows the
    object's clock so events produced by a test clock carry simulated time.
    """
    rendered = state.render(obj)
    if created is None:
        created = state.now(_customer_of(obj))
    data = {"object": rendered}
    if previous is not None:
        data["previous_attributes"] = previous
    request = state.current_request or {"id": None, "idempotency_key": None}
    endpoints = [
        e
        for e in state.all("webhook_endpoint", newest_first=False)
        if endpoint_matches(e, event_type)
    ]
    event = {
        "id": new_id("evt"),
        "object": "event",
        "api_version": API_VERSION,
        "created": created,
        "data": data,
        "livemode": False,
        "pending_webhooks": len(endpoints),
        "request": dict(request),
        "type": event_type,
    }
    state.add(event)
    for listener in state.listeners:
        listener(event, endpoints)
    return event


def _customer_of(obj):
    if obj.get("object") == "customer":
        return obj.get("id")
    customer = obj.get("customer") or obj.get("_customer")
    return customer if isinstance(customer, str) else None


def mutate(state, obj, change, event_type=None):
    """Apply ``change(obj)`` and, when anything visible changed, emit ``event_type``
    with ``previous_attributes`` holding the old values (nested for hashes, like Stripe)."""
    before = state.render(obj)
    change(obj)
    state.dirty = True
    after = state.render(obj)
    previous = diff(before, after)
    if previous and event_type:
        emit(state, event_type, obj, previous=previous)
    return previous
