"""Webhook endpoints and the events list."""

from __future__ import annotations

import secrets

from ..encoding import get_list, get_str
from ..errors import invalid, missing_param
from ..routing import route
from ..state import new_id
from .base import delete, list_objects, new_object, retrieve, update


def _new_secret():
    return "whsec_" + secrets.token_hex(16)


def upsert_endpoint(state, url, secret=None, enabled_events=("*",)):
    """Create the endpoint for ``url`` or update the existing one; returns its signing secret."""
    for endpoint in state.all("webhook_endpoint"):
        if endpoint["url"] == url:
            endpoint.update(enabled_events=list(enabled_events), status="enabled")
            endpoint["_secret"] = secret or endpoint["_secret"]
            state.dirty = True
            return endpoint["_secret"]
    endpoint = {
        "id": new_id("we"),
        "object": "webhook_endpoint",
        "api_version": None,
        "application": None,
        "created": state.now(),
        "description": None,
        "enabled_events": list(enabled_events),
        "livemode": False,
        "metadata": {},
        "status": "enabled",
        "url": url,
        "_secret": secret or _new_secret(),
    }
    state.add(endpoint)
    return endpoint["_secret"]


@route("POST", "/v1/webhook_endpoints")
def create_webhook_endpoint(ctx):
    url = get_str(ctx.params, "url", required=True)
    events = get_list(ctx.params, "enabled_events")
    if not events:
        raise missing_param("enabled_events")
    endpoint = new_object(
        ctx,
        "webhook_endpoint",
        "we",
        api_version=get_str(ctx.params, "api_version"),
        application=None,
        description=get_str(ctx.params, "description"),
        enabled_events=events,
        status="enabled",
        url=url,
        _secret=_new_secret(),
    )
    ctx.state.add(endpoint)
    out = ctx.out(endpoint)
    out["secret"] = endpoint["_secret"]  # Stripe reveals the secret only in the create response
    return out


@route("GET", "/v1/webhook_endpoints")
def list_webhook_endpoints(ctx):
    return list_objects(ctx, "webhook_endpoint", "/v1/webhook_endpoints")


@route("GET", "/v1/webhook_endpoints/{id}")
def get_webhook_endpoint(ctx, id):
    return retrieve(ctx, "webhook_endpoint", id)


@route("POST", "/v1/webhook_endpoints/{id}")
def update_webhook_endpoint(ctx, id):
    def apply(endpoint):
        if "enabled_events" in ctx.params:
            endpoint["enabled_events"] = get_list(ctx.params, "enabled_events")
        if "disabled" in ctx.params:
            endpoint["status"] = "disabled" if ctx.params["disabled"] == "true" else "enabled"

    return update(ctx, "webhook_endpoint", id, ("url", "description"), apply, event=False)


@route("DELETE", "/v1/webhook_endpoints/{id}")
def delete_webhook_endpoint(ctx, id):
    return delete(ctx, "webhook_endpoint", id, event=False)


@route("GET", "/v1/events")
def list_events(ctx):
    types = get_list(ctx.params, "types")
    single = get_str(ctx.params, "type")
    if single and types:
        raise invalid("You may only specify one of these parameters: type, types.", param="types")

    def type_ok(event):
        if single:
            return (
                event["type"] == single
                or single.endswith("*")
                and event["type"].startswith(single[:-1])
            )
        return not types or event["type"] in types

    return list_objects(ctx, "event", "/v1/events", type_ok)


@route("GET", "/v1/events/{id}")
def get_event(ctx, id):
    return retrieve(ctx, "event", id)
