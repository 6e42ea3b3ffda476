"""The only module of the subscriptions app that talks to Stripe.

Every mutating call carries an Idempotency-Key derived from the operation, so a retried request
(network error, worker restart, client retry with the same Idempotency-Key) never creates a second
object. Stripe's errors become the API's domain errors here, so callers never see a stripe exception.
Nothing here is emulator-specific: STRIPE_API_BASE/STRIPE_API_KEY decide where the calls go.
"""

from __future__ import annotations

import logging
import time

import stripe
from django.conf import settings

from billing_project.api.exceptions import Conflict, DomainError, InvalidRequest, NotFound
from billing_project.stripe_client import get_client

logger = logging.getLogger(__name__)


class PaymentDeclined(DomainError):
    status_code = 402
    code = "card_declined"
    default_message = "The card was declined."


class StripeUnavailable(DomainError):
    """Stripe is down, rate-limiting or timing out (after the client's own network retries)."""

    status_code = 503
    code = "payment_provider_unavailable"
    default_message = "The payment provider could not be reached; retry later."
    # API.md promises Retry-After on this 503; a few seconds lets Stripe's rate window pass.
    retry_after_seconds = 5

    def __init__(self, message: str | None = None, **kwargs):
        kwargs.setdefault("headers", {"Retry-After": str(self.retry_after_seconds)})
        super().__init__(message, **kwargs)


class _Call:
    """Wraps a StripeClient call: Stripe errors -> domain errors."""

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc is None or not isinstance(exc, stripe.StripeError):
            return False
        if isinstance(exc, stripe.CardError):
            error = getattr(exc, "error", None)
            decline_code = getattr(error, "decline_code", None) or \
                ((exc.json_body or {}).get("error") or {}).get("decline_code") or exc.code or "card_declined"
            raise PaymentDeclined(exc.user_message or "The card was declined.",
                                  detail={"decline_code": decline_code}) from exc
        if isinstance(exc, stripe.InvalidRequestError):
            if exc.code == "resource_missing" and exc.http_status == 404:
                raise NotFound(exc.user_message or "No such object.") from exc
            raise InvalidRequest(exc.user_message or "The payment provider refused the request.",
                                 detail={"stripe_code": exc.code, "param": exc.param}) from exc
        if isinstance(exc, stripe.IdempotencyError):
            raise Conflict("A retried payment request had other parameters.", code="idempotency_conflict") from exc
        logger.warning("stripe call failed: %r", exc)
        raise StripeUnavailable() from exc


def client() -> stripe.StripeClient:
    return get_client()


def configure_global_stripe() -> None:
    """dj-stripe's own calls (re-fetches while mirroring) use the global `stripe` module: point it
    at the same API as our client. Called before every mirror sync because tests change settings."""
    stripe.api_key = settings.STRIPE_API_KEY
    stripe.api_base = settings.STRIPE_API_BASE or "https://api.stripe.com"


def _opts(idempotency_key: str | None) -> dict:
    return {"idempotency_key": idempotency_key} if idempotency_key else {}


# --- catalog ------------------------------------------------------------------------------------

def product_create(*, code: str, name: str, description: str, key: str):
    with _Call():
        params = {"name": name, "metadata": {"plan_id": code}}
        if description:
            params["description"] = description
        return client().v1.products.create(params=params, options=_opts(key))


def product_update(*, product_id: str, name: str, description: str, key: str):
    with _Call():
        return client().v1.products.update(product_id, params={"name": name, "description": description or "",
                                                               "active": True}, options=_opts(key))


def price_get_by_lookup_key(lookup_key: str, *, with_tiers: bool = False):
    params = {"lookup_keys": [lookup_key], "limit": 1}
    if with_tiers:
        params["expand"] = ["data.tiers"]  # Stripe sends a price's tiers only when asked
    with _Call():
        found = client().v1.prices.list(params=params)
    return found.data[0] if found.data else None


def price_create(*, product_id: str, amount: int, currency: str, interval: str, lookup_key: str, key: str):
    with _Call():
        return client().v1.prices.create(params={
            "product": product_id, "unit_amount": amount, "currency": currency,
            "recurring": {"interval": interval}, "lookup_key": lookup_key,
            # Prices are immutable: the new price takes the lookup key over from the old one.
            "transfer_lookup_key": True,
        }, options=_opts(key))


def metered_tiered_price_create(*, product_id: str, currency: str, interval: str, meter_id: str, tiers: list[dict],
                                nickname: str, lookup_key: str, key: str):
    """A metered Price on a billing meter, billed in arrears by graduated tiers."""
    with _Call():
        return client().v1.prices.create(params={
            "product": product_id, "currency": currency, "nickname": nickname[:250],
            "recurring": {"interval": interval, "usage_type": "metered", "meter": meter_id},
            "billing_scheme": "tiered", "tiers_mode": "graduated", "tiers": tiers,
            "lookup_key": lookup_key, "transfer_lookup_key": True,
        }, options=_opts(key))


def price_archive(*, price_id: str, key: str):
    with _Call():
        return client().v1.prices.update(price_id, params={"active": False}, options=_opts(key))


def price_retrieve(price_id: str):
    with _Call():
        return client().v1.prices.retrieve(price_id)


# --- customers and clocks -----------------------------------------------------------------------

def customer_create(*, tenant, test_clock: str | None, key: str):
    params = {"name": tenant.name, "email": tenant.email,
              "metadata": {"tenant_id": str(tenant.id), "tenant_slug": tenant.slug,
                           # dj-stripe links Customer.subscriber from this key.
                           "djstripe_subscriber": str(tenant.id)}}
    if test_clock:
        params["test_clock"] = test_clock
    with _Call():
        return client().v1.customers.create(params=params, options=_opts(key))


def customer_retrieve(customer_id: str):
    with _Call():
        return client().v1.customers.retrieve(customer_id)


def customer_set_default_payment_method(*, customer_id: str, payment_method_id: str, key: str):
    with _Call():
        return client().v1.customers.update(
            customer_id, params={"invoice_settings": {"default_payment_method": payment_method_id}},
            options=_opts(key))


def test_clock_create(*, name: str, key: str):
    with _Call():
        return client().v1.test_helpers.test_clocks.create(
            params={"frozen_time": int(time.time()), "name": name[:300]}, options=_opts(key))


def test_clock_retrieve(clock_id: str):
    with _Call():
        return client().v1.test_helpers.test_clocks.retrieve(clock_id)


def test_clock_advance(*, clock_id: str, frozen_time: int, key: str):
    with _Call():
        return client().v1.test_helpers.test_clocks.advance(clock_id, params={"frozen_time": frozen_time},
                                                            options=_opts(key))


# --- subscriptions ------------------------------------------------------------------------------

SUBSCRIPTION_EXPAND = ["latest_invoice.confirmation_secret"]


def subscription_create(*, params: dict, key: str):
    with _Call():
        return client().v1.subscriptions.create(params={**params, "expand": SUBSCRIPTION_EXPAND},
                                                options=_opts(key))


def subscription_retrieve(subscription_id: str):
    with _Call():
        return client().v1.subscriptions.retrieve(subscription_id, params={"expand": SUBSCRIPTION_EXPAND})


def subscription_update(*, subscription_id: str, params: dict, key: str):
    with _Call():
        return client().v1.subscriptions.update(subscription_id, params={**params, "expand": SUBSCRIPTION_EXPAND},
                                                options=_opts(key))


def subscription_cancel(*, subscription_id: str, key: str):
    with _Call():
        return client().v1.subscriptions.cancel(subscription_id, options=_opts(key))


def subscription_list(*, customer_id: str):
    with _Call():
        return list(client().v1.subscriptions.list(params={"customer": customer_id, "status": "all",
                                                           "limit": 100}).auto_paging_iter())


def invoice_preview(*, params: dict):
    with _Call():
        return client().v1.invoices.create_preview(params=params)


def invoice_retrieve(invoice_id: str):
    # dj-stripe's Invoice sync reads discounts as objects; unexpanded they are ids and it fails.
    with _Call():
        return client().v1.invoices.retrieve(invoice_id, params={"expand": ["discounts", "lines.data.discounts"]})


# --- payment methods ----------------------------------------------------------------------------

def payment_method_attach(*, token: str, customer_id: str, key: str):
    with _Call():
        return client().v1.payment_methods.attach(token, params={"customer": customer_id}, options=_opts(key))


def payment_method_retrieve(payment_method_id: str):
    with _Call():
        return client().v1.payment_methods.retrieve(payment_method_id)


def payment_method_list(*, customer_id: str):
    with _Call():
        return list(client().v1.customers.payment_methods.list(customer_id, params={"limit": 100}).auto_paging_iter())


def payment_method_detach(*, payment_method_id: str, key: str):
    with _Call():
        return client().v1.payment_methods.detach(payment_method_id, options=_opts(key))


def setup_intent_create(*, customer_id: str, key: str):
    with _Call():
        return client().v1.setup_intents.create(
            params={"customer": customer_id, "usage": "off_session", "payment_method_types": ["card"]},
            options=_opts(key))


# --- coupons ------------------------------------------------------------------------------------

def coupon_create(*, params: dict, key: str):
    with _Call():
        return client().v1.coupons.create(params=params, options=_opts(key))


def promotion_code_create(*, coupon_id: str, code: str, params: dict, key: str):
    with _Call():
        return client().v1.promotion_codes.create(
            params={"promotion": {"type": "coupon", "coupon": coupon_id}, "code": code, **params}, options=_opts(key))


def promotion_code_deactivate(*, promotion_code_id: str, key: str):
    with _Call():
        return client().v1.promotion_codes.update(promotion_code_id, params={"active": False}, options=_opts(key))


# --- events -------------------------------------------------------------------------------------

def event_list(*, created_gte: int):
    with _Call():
        return list(client().v1.events.list(params={"created": {"gte": created_gte}, "limit": 100}).auto_paging_iter())


def construct_event(*, payload: bytes, signature: str, secret: str):
    """Verify Stripe-Signature (HMAC-SHA256 over `t.payload`, 300 s tolerance). Raises ValueError."""
    try:
        return stripe.Webhook.construct_event(payload, signature, secret)
    except stripe.SignatureVerificationError as exc:
        raise ValueError(str(exc)) from exc
