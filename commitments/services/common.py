"""What the services modules share: Stripe timestamps, invoices' subscriptions, amount checks."""

from __future__ import annotations

from datetime import UTC, datetime

from billing_project.errors import InvalidRequest

MAX_AMOUNT = 99_999_999


def _at(timestamp) -> datetime:
    """A Stripe timestamp (always present where this reads one) as an aware UTC datetime."""
    return datetime.fromtimestamp(int(timestamp), tz=UTC)


def _subscription_of(invoice) -> str | None:
    parent = invoice.get("parent") or {}
    details = parent.get("subscription_details") or {}
    return details.get("subscription") or invoice.get("subscription")


def _check_amount(name: str, value: int | None) -> None:
    if value is not None and not 0 < value <= MAX_AMOUNT:
        raise InvalidRequest(
            f"{name} must be positive and at most 99,999,999 minor units.",
            detail={name: ["Positive, at most 99,999,999 minor units."]},
        )
