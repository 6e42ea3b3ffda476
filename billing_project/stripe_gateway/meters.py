"""Stripe billing meters and meter events (usage pushed for overage billing).

The push job records failures on its own rows and retries on the next run, so these raise their
own two exceptions instead of the API's domain errors.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from billing_project.errors import DomainError
from billing_project.stripe_gateway.client import get_client
from billing_project.stripe_gateway.errors import stripe_errors

if TYPE_CHECKING:
    from stripe.params.billing import MeterEventCreateParams


class MeterPushError(Exception):
    """Stripe did not take a meter event (network, 5xx after retries, or a refusal)."""


class DuplicateMeterEvent(Exception):
    """Stripe already holds an event with this identifier: it was pushed before."""


def _reason(exc: DomainError) -> str:
    cause = exc.__cause__  # Stripe's own message says more than the domain error's
    return str(getattr(cause, "user_message", None) or cause or exc)


def meter_ensure(*, event_name: str, display_name: str) -> str:
    """The id of the active meter for `event_name`, created (sum of `value`) when missing."""
    client = get_client()
    try:
        with stripe_errors():
            for meter in client.v1.billing.meters.list({"limit": 100}).auto_paging_iter():
                if meter.event_name == event_name:
                    return meter.id
            meter = client.v1.billing.meters.create(
                {
                    "display_name": display_name,
                    "event_name": event_name,
                    "default_aggregation": {"formula": "sum"},
                    "customer_mapping": {
                        "type": "by_id",
                        "event_payload_key": "stripe_customer_id",
                    },
                    "value_settings": {"event_payload_key": "value"},
                },
                {"idempotency_key": f"usage-meter-{event_name}"},
            )
            return meter.id
    except DomainError as exc:
        raise MeterPushError(f"meter {event_name}: {_reason(exc)}") from exc


def meter_event_name_for(resource_type: str) -> str:
    """The Stripe event name a plan's overage price meters for a resource: the built-in meters push
    to an event named like the resource (`api_calls`), which every tenant shares."""
    return resource_type


def meter_event_send(
    *,
    event_name: str,
    customer_id: str,
    value: Decimal,
    identifier: str,
    timestamp: datetime | None,
) -> None:
    params: MeterEventCreateParams = {
        "event_name": event_name,
        "identifier": identifier,
        "payload": {"stripe_customer_id": customer_id, "value": format(value.normalize(), "f")},
    }
    if timestamp is not None:
        params["timestamp"] = int(timestamp.timestamp())
    try:
        with stripe_errors():
            # The identifier is what dedups across runs; the key only covers this call's network
            # retries (a later run sends another timestamp, which Stripe would refuse under the same key).
            get_client().v1.billing.meter_events.create(
                params,
                {
                    "idempotency_key": f"usage-meter-event-{identifier}-{params.get('timestamp', '')}"
                },
            )
    except DomainError as exc:
        stripe_code = (
            (exc.detail or {}).get("stripe_code") if isinstance(exc.detail, dict) else None
        )
        if (
            stripe_code == "duplicate_meter_event"
            or "already exists with identifier" in exc.message
        ):
            raise DuplicateMeterEvent(identifier) from exc
        raise MeterPushError(f"{identifier}: {_reason(exc)}") from exc
