"""The configured Stripe client. Gateways (`<app>/gateway.py`) are the only callers.

STRIPE_API_BASE points it at the bundled emulator or any Stripe-compatible endpoint; empty means
api.stripe.com. Network retries are on; mutating calls pass an Idempotency-Key (see gateways).
"""

import time
from functools import lru_cache

import stripe
from django.conf import settings

API_VERSION = "2026-05-27.dahlia"  # the version dj-stripe 2.11 pins


def stripe_configured() -> bool:
    return bool(settings.STRIPE_API_KEY)


@lru_cache(maxsize=4)
def _client(api_key: str, api_base: str, timeout: float) -> stripe.StripeClient:
    base = {"api": api_base, "files": api_base, "connect": api_base, "meter_events": api_base} if api_base else {}
    # Every attempt is bounded (STRIPE_TIMEOUT_SECONDS): a hung Stripe must end in a timeout the
    # gateways turn into 503, not hold a web worker until gunicorn kills it. A timed-out attempt is
    # retried with the same Idempotency-Key (stripe-python sets one on every POST).
    return stripe.StripeClient(api_key, stripe_version=API_VERSION, max_network_retries=2,
                               base_addresses=base, http_client=stripe.RequestsClient(timeout=timeout))


def get_client() -> stripe.StripeClient:
    return _client(settings.STRIPE_API_KEY, settings.STRIPE_API_BASE, float(settings.STRIPE_TIMEOUT_SECONDS))


_ACCOUNT_CHECK_TTL = 15.0
_last_checks: dict[tuple[str, str], tuple[float, str]] = {}


def account_check(timeout: float = 3.0) -> str:
    """"ok", "not_configured" or "error: ..." for /health.

    Remembered for 15 s: health probes every few seconds (compose, load balancers) would otherwise
    each cost a Stripe API call, and Stripe rate-limits."""
    if not stripe_configured():
        return "not_configured"
    where = (settings.STRIPE_API_KEY, settings.STRIPE_API_BASE)
    now = time.monotonic()
    last = _last_checks.get(where)
    if last is None or now - last[0] >= _ACCOUNT_CHECK_TTL:
        last = _last_checks[where] = (now, _account_call(timeout))
    return last[1]


def _account_call(timeout: float) -> str:
    try:
        client = stripe.StripeClient(
            settings.STRIPE_API_KEY, stripe_version=API_VERSION, max_network_retries=0,
            base_addresses={"api": settings.STRIPE_API_BASE} if settings.STRIPE_API_BASE else {},
            http_client=stripe.RequestsClient(timeout=timeout) if hasattr(stripe, "RequestsClient") else None,
        )
        client.v1.accounts.retrieve_current()
        return "ok"
    except Exception as exc:  # any failure is reported, never raised: /health must answer
        return f"error: {type(exc).__name__}"
