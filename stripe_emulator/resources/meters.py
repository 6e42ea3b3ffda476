"""Billing meters and meter events (deduplicated by identifier)."""

from __future__ import annotations

from decimal import Decimal

from ..encoding import get_int, get_str
from ..errors import StripeError, invalid
from ..events import mutate
from ..routing import route
from ..state import new_id
from .base import list_objects, new_object, retrieve, update


@route("POST", "/v1/billing/meters")
def create_meter(ctx):
    p = ctx.params
    agg = p.get("default_aggregation") if isinstance(p.get("default_aggregation"), dict) else {}
    formula = agg.get("formula") or ""
    if formula not in ("sum", "count", "last"):
        raise invalid(
            "Invalid default_aggregation[formula]: must be one of sum, count or last",
            param="default_aggregation[formula]",
        )
    event_name = get_str(p, "event_name", required=True)
    if any(m["event_name"] == event_name for m in ctx.state.all("billing.meter")):
        raise invalid(f"A meter with event_name '{event_name}' already exists.", param="event_name")
    mapping = p.get("customer_mapping") if isinstance(p.get("customer_mapping"), dict) else {}
    value = p.get("value_settings") if isinstance(p.get("value_settings"), dict) else {}
    meter = new_object(
        ctx,
        "billing.meter",
        "mtr",
        metadata=False,
        customer_mapping={
            "event_payload_key": mapping.get("event_payload_key") or "stripe_customer_id",
            "type": "by_id",
        },
        default_aggregation={"formula": formula},
        display_name=get_str(p, "display_name", required=True),
        event_name=event_name,
        event_time_window=get_str(p, "event_time_window"),
        status="active",
        status_transitions={"deactivated_at": None},
        value_settings={"event_payload_key": value.get("event_payload_key") or "value"},
    )
    meter["updated"] = meter["created"]
    ctx.state.add(meter)  # Stripe sends no webhook for meter creation
    return ctx.out(meter)


@route("GET", "/v1/billing/meters")
def list_meters(ctx):
    return list_objects(ctx, "billing.meter", "/v1/billing/meters", ("status", "status"))


@route("GET", "/v1/billing/meters/{id}")
def get_meter(ctx, id):
    return retrieve(ctx, "billing.meter", id)


@route("POST", "/v1/billing/meters/{id}")
def update_meter(ctx, id):
    return update(ctx, "billing.meter", id, ("display_name",), event=False)


def _set_status(ctx, id, status):
    meter = ctx.state.get("billing.meter", id)
    now = ctx.state.now()
    mutate(
        ctx.state,
        meter,
        lambda m: m.update(
            status=status,
            updated=now,
            status_transitions={"deactivated_at": now if status == "inactive" else None},
        ),
    )
    return ctx.out(meter)


@route("POST", "/v1/billing/meters/{id}/deactivate")
def deactivate_meter(ctx, id):
    return _set_status(ctx, id, "inactive")


@route("POST", "/v1/billing/meters/{id}/reactivate")
def reactivate_meter(ctx, id):
    return _set_status(ctx, id, "active")


@route("POST", "/v1/billing/meter_events")
def create_meter_event(ctx):
    p = ctx.params
    event_name = get_str(p, "event_name", required=True)
    meter = next((m for m in ctx.state.all("billing.meter") if m["event_name"] == event_name), None)
    payload = p.get("payload") if isinstance(p.get("payload"), dict) else {}
    if meter is None:
        raise invalid(f"No active meter found for event_name '{event_name}'.", param="event_name")
    if meter["status"] != "active":
        raise invalid(f"Meter for event_name '{event_name}' is inactive.", param="event_name")
    customer = payload.get(meter["customer_mapping"]["event_payload_key"])
    if not customer:
        raise invalid(
            f"Missing payload[{meter['customer_mapping']['event_payload_key']}].", param="payload"
        )
    ctx.state.get(
        "customer", customer, param=f"payload[{meter['customer_mapping']['event_payload_key']}]"
    )
    value_key = meter["value_settings"]["event_payload_key"]
    if meter["default_aggregation"]["formula"] != "count":
        try:
            Decimal(payload.get(value_key, ""))
        except ArithmeticError:
            raise invalid(
                f"payload[{value_key}] must be a number.", param=f"payload[{value_key}]"
            ) from None
    identifier = get_str(p, "identifier") or new_id("mev")
    if any(e["identifier"] == identifier for e in ctx.state.meter_events):
        # Stripe enforces identifier uniqueness (24h+); the duplicate is refused, not counted twice.
        raise StripeError(
            400,
            f"An event already exists with identifier {identifier}.",
            param="identifier",
            code="duplicate_meter_event",
        )
    event = {
        "object": "billing.meter_event",
        "created": ctx.state.now(customer),
        "event_name": event_name,
        "identifier": identifier,
        "livemode": False,
        "payload": dict(payload),
        "timestamp": get_int(p, "timestamp", default=ctx.state.now(customer)),
        "_meter": meter["id"],
        "_customer": customer,
    }
    ctx.state.meter_events.append(event)
    ctx.state.dirty = True
    return {k: v for k, v in event.items() if not k.startswith("_")}


def aggregate_usage(state, meter_id, customer, start, end):
    """Aggregated usage of a meter for a customer over ``[start, end)`` (sum, count or last)."""
    meter = state.get("billing.meter", meter_id)
    key = meter["value_settings"]["event_payload_key"]
    events = [
        e
        for e in state.meter_events
        if e["_meter"] == meter_id and e["_customer"] == customer and start <= e["timestamp"] < end
    ]
    formula = meter["default_aggregation"]["formula"]
    if formula == "count":
        return Decimal(len(events))
    values = [
        Decimal(e["payload"].get(key, "0")) for e in sorted(events, key=lambda e: e["timestamp"])
    ]
    if formula == "last":
        return values[-1] if values else Decimal(0)
    return sum(values, Decimal(0))


@route("GET", "/v1/billing/meters/{id}/event_summaries")
def meter_event_summaries(ctx, id):
    ctx.state.get("billing.meter", id)
    customer = get_str(ctx.params, "customer", required=True)
    start = get_int(ctx.params, "start_time", required=True)
    end = get_int(ctx.params, "end_time", required=True)
    value = aggregate_usage(ctx.state, id, customer, start, end)
    summary = {
        "id": new_id("mtrusg"),
        "object": "billing.meter_event_summary",
        "aggregated_value": float(value),
        "end_time": end,
        "livemode": False,
        "meter": id,
        "start_time": start,
    }
    return {
        "object": "list",
        "data": [summary],
        "has_more": False,
        "url": f"/v1/billing/meters/{id}/event_summaries",
    }
