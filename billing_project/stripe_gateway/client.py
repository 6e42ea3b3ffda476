"""The configured Stripe client. Only the modules of this package call it.

STRIPE_API_BASE points it at the bundled emulator or any Stripe-compatible endpoint; empty means
api.stripe.com. Network retries are on; mutating calls pass an Idempotency-Key (see `keys`).
"""

from __future__ import annotations

import time
from functools import lru_cache
from typing import TYPE_CHECKING

import stripe
from django.conf import settings

if TYPE_CHECKING:
    # stripe-python exports the TypedDict of StripeClient(base_addresses=) from this module only.
    from stripe._base_address import BaseAddresses

API_VERSION = "2026-05-27.dahlia"  # the version dj-stripe 2.11 pins


def stripe_configured() -> bool:
    return bool(settings.STRIPE_API_KEY)


def _base_addresses(api_base: str) -> BaseAddresses:
    return (
        {"api": api_base, "files": api_base, "connect": api_base, "meter_events": api_base}
        if api_base
        else {}
    )


@lru_cache(maxsize=4)
def _client(api_key: str, api_base: str, timeout: float) -> stripe.StripeClient:
    # Every attempt is bounded (STRIPE_TIMEOUT_SECONDS): a hung Stripe must end in a timeout the
    # translator turns into 503, not hold a web worker until gunicorn kills it. A timed-out attempt
    # is retried with the same Idempotency-Key (stripe-python sets one on every POST).
    return stripe.StripeClient(
        api_key,
        stripe_version=API_VERSION,
        max_network_retries=2,
        base_addresses=_base_addresses(api_base),
        http_client=stripe.RequestsClient(timeout=timeout),
    )


def get_client() -> stripe.StripeClient:
    return _client(
        settings.STRIPE_API_KEY, settings.STRIPE_API_BASE, float(settings.STRIPE_TIMEOUT_SECONDS)
    )


def configure_global_stripe() -> None:
    """dj-stripe's own calls (re-fetches while mirroring) use the global `stripe` module: point it
    at the same API as our client. Called before every mirror sync because tests change settings."""
    stripe.api_key = settings.STRIPE_API_KEY
    stripe.api_base = settings.STRIPE_API_BASE or "https://api.stripe.com"


_ACCOUNT_CHECK_TTL = 15.0
_last_checks: dict[tuple[str, str], tuple[float, str]] = {}


def account_check(timeout: float = 3.0) -> str:
    """ "ok", "not_configured" or "error: ..." for /health.

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
        # No retries and a short timeout: /health must answer quickly whatever Stripe does.
        client = stripe.StripeClient(
            settings.STRIPE_API_KEY,
            stripe_version=API_VERSION,
            max_network_retries=0,
            base_addresses=_base_addresses(settings.STRIPE_API_BASE),
            http_client=stripe.RequestsClient(timeout=timeout),
        )
        client.v1.accounts.retrieve_current()
        return "ok"
    except Exception as exc:  # any failure is reported, never raised: /health must answer
        return f"error: {type(exc).__name__}"
