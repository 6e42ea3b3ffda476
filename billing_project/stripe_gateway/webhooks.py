"""Stripe's webhooks, the inbound half: signature verification, the registry of handlers keyed by
event type, and the one re-fetch of an event's object.

Apps declare what they react to in their `handlers.py`, imported by their AppConfig.ready():

    @stripe_webhook("invoice.payment_failed", fresh=True)
    def invoice_changed(event: StripeEvent) -> None: ...

The endpoint (`subscriptions.services.webhooks`) verifies the delivery, records it once by event
id, resolves the tenant, and, when a handler of the type asked for `fresh=True`, re-fetches the
object from Stripe once (deliveries may be stale or out of order) and hands that same object to
every handler of the type. Nothing in this module touches the database.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import stripe

from billing_project.stripe_gateway.customers import customer_retrieve
from billing_project.stripe_gateway.invoices import invoice_retrieve
from billing_project.stripe_gateway.payment_methods import payment_method_retrieve
from billing_project.stripe_gateway.subscriptions import subscription_retrieve


def event_verify(*, payload: bytes, signature: str, secret: str) -> None:
    """Check Stripe-Signature (HMAC-SHA256 over `t.payload`, 300 s tolerance). Raises ValueError."""
    try:
        stripe.Webhook.construct_event(payload, signature, secret)
    except stripe.SignatureVerificationError as exc:
        raise ValueError(str(exc)) from exc


@dataclass
class StripeEvent:
    """One event as handlers see it. `object` is Stripe's current object when a handler of the type
    asked for it fresh, else the delivered one (`payload_object`, as it was when the event happened)."""

    id: str
    type: str
    payload: dict[str, Any]
    object: Any  # the delivered object (a dict) or Stripe's current one (a StripeObject)
    # Any: the Stripe package imports no app (the handlers know the types they read).
    tenant: Any = None  # tenants.Tenant, resolved by the endpoint from the object's customer
    account: Any = None  # subscriptions.BillingAccount of that tenant
    results: dict[str, object] = field(
        default_factory=dict
    )  # handler name -> what it returned (logs, tests)

    @property
    def payload_object(self) -> dict[str, Any]:
        return (self.payload.get("data") or {}).get("object") or {}

    @property
    def previous_attributes(self) -> dict[str, Any]:
        return (self.payload.get("data") or {}).get("previous_attributes") or {}


@dataclass(frozen=True)
class Handler:
    func: Callable[[StripeEvent], object]
    fresh: bool

    @property
    def name(self) -> str:
        return f"{self.func.__module__}.{self.func.__qualname__}"

    @property
    def app(self) -> str:
        return self.func.__module__.split(".")[0]


_registry: dict[str, list[Handler]] = {}
T = TypeVar("T")


def stripe_webhook(
    *event_types: str, fresh: bool = False
) -> Callable[[Callable[[StripeEvent], T]], Callable[[StripeEvent], T]]:
    """Register the decorated function for these event types. `fresh=True`: it needs Stripe's
    current object (the endpoint fetches it once for all handlers of the event)."""
    if not event_types:
        raise ValueError("stripe_webhook needs at least one event type")

    def register(func: Callable[[StripeEvent], T]) -> Callable[[StripeEvent], T]:
        handler = Handler(func=func, fresh=fresh)
        for event_type in event_types:
            handlers = _registry.setdefault(event_type, [])
            # Re-imports (autoreload, tests) must not register the same function twice.
            if all(h.name != handler.name for h in handlers):
                handlers.append(handler)
        return func

    return register


def handlers_for(event_type: str, *, apps: set[str] | None = None) -> list[Handler]:
    """The handlers of an event type in registration order (INSTALLED_APPS order), optionally only
    those of some apps."""
    return [h for h in _registry.get(event_type, []) if apps is None or h.app in apps]


def registered_types() -> list[str]:
    return sorted(_registry)


# How to read each kind of object fresh: one call, with what every handler of it needs expanded.
_FETCHERS: dict[str, Callable[[str], object]] = {
    "invoice": lambda object_id: invoice_retrieve(object_id, with_payments=True),
    "subscription": subscription_retrieve,
    "customer": customer_retrieve,
    "payment_method": payment_method_retrieve,
}


def object_fetch(obj: dict[str, Any]) -> object:
    """Stripe's current version of an event's object (the delivered one for kinds not listed)."""
    fetch = _FETCHERS.get(obj.get("object", ""))
    return fetch(obj["id"]) if fetch and obj.get("id") else obj
