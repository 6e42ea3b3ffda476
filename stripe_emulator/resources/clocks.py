"""Test clocks (``/v1/test_helpers/test_clocks``)."""

from __future__ import annotations

import time

from ..clock import advance
from ..encoding import get_int, get_str
from ..errors import invalid
from ..events import emit
from ..routing import route
from .base import list_objects, new_object, retrieve

BASE = "/v1/test_helpers/test_clocks"


@route("POST", BASE)
def create_clock(ctx):
    frozen = get_int(ctx.params, "frozen_time", required=True)
    clock = new_object(
        ctx,
        "test_helpers.test_clock",
        "clock",
        metadata=False,
        deletes_after=int(time.time()) + 30 * 86400,
        frozen_time=frozen,
        name=get_str(ctx.params, "name"),
        status="ready",
        status_details={},
    )
    ctx.state.add(clock)
    emit(ctx.state, "test_helpers.test_clock.created", clock)
    return ctx.out(clock)


@route("GET", BASE)
def list_clocks(ctx):
    return list_objects(ctx, "test_helpers.test_clock", BASE)


@route("GET", BASE + "/{id}")
def get_clock(ctx, id):
    return retrieve(ctx, "test_helpers.test_clock", id)


@route("POST", BASE + "/{id}/advance")
def advance_clock(ctx, id):
    clock = ctx.state.get("test_helpers.test_clock", id)
    target = get_int(ctx.params, "frozen_time", required=True)
    if clock["status"] != "ready":
        raise invalid("The test clock is already advancing; wait for it to be ready.")
    if target <= clock["frozen_time"]:
        raise invalid("The test clock's frozen_time can only move forward.", param="frozen_time")
    clock.update(status="advancing", status_details={"advancing": {"target_frozen_time": target}})
    ctx.state.dirty = True
    emit(ctx.state, "test_helpers.test_clock.advancing", clock)
    advance(ctx.state, clock, target, ctx.state.wait_for_deliveries)
    return ctx.out(clock)


@route("DELETE", BASE + "/{id}")
def delete_clock(ctx, id):
    clock = ctx.state.get("test_helpers.test_clock", id)
    # Deleting a clock deletes every object attached to it, starting with its customers.
    for customer in ctx.state.all("customer"):
        if customer["test_clock"] == id:
            customer["_deleted"] = True
            for sub in ctx.state.all("subscription"):
                if sub["customer"] == customer["id"]:
                    sub["_deleted"] = True
    clock["_deleted"] = True
    ctx.state.dirty = True
    emit(ctx.state, "test_helpers.test_clock.deleted", clock)
    return {"id": id, "object": "test_helpers.test_clock", "deleted": True}
