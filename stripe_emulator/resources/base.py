"""Helpers shared by every resource: object skeletons, CRUD, lists and search."""

from __future__ import annotations

from ..encoding import apply_metadata, created_filter, get_str, paginate, search_predicate
from ..events import emit, mutate
from ..state import new_id

ADDRESS_KEYS = ("city", "country", "line1", "line2", "postal_code", "state")


def address(value):
    """An address hash with every key present (null when not sent)."""
    value = value if isinstance(value, dict) else {}
    return {k: value.get(k) for k in ADDRESS_KEYS}


def new_object(
    ctx, obj_type, prefix, *, owner=None, obj_id=None, metadata=True, livemode=True, **fields
):
    """Skeleton of a new object: id, object, created (clock time of the owner customer), livemode, metadata."""
    obj = {"id": obj_id or new_id(prefix), "object": obj_type, "created": ctx.state.now(owner)}
    if livemode:
        obj["livemode"] = False
    if metadata:
        obj["metadata"] = {}
        apply_metadata(obj, ctx.params)
    obj.update(fields)
    return obj


def create(ctx, obj, event=True):
    """Store a new object, emit ``<type>.created`` and return its JSON."""
    ctx.state.add(obj)
    if event:
        emit(ctx.state, f"{obj['object']}.created", obj)
    return ctx.out(obj)


def update(ctx, obj_type, obj_id, fields=(), apply=None, event=True):
    """Update simple string ``fields`` and metadata (plus an optional ``apply(obj)``),
    emitting ``<type>.updated`` with ``previous_attributes`` if something changed."""
    obj = ctx.state.get(obj_type, obj_id)

    def change(o):
        for name in fields:
            if name in ctx.params:
                value = ctx.params[name]
                o[name] = None if value == "" else value
        apply_metadata(o, ctx.params)
        if apply:
            apply(o)

    mutate(ctx.state, obj, change, f"{obj_type}.updated" if event else None)
    return ctx.out(obj)


def delete(ctx, obj_type, obj_id, event=True):
    """Mark deleted, emit ``<type>.deleted`` and answer ``{"id", "object", "deleted": true}``."""
    obj = ctx.state.get(obj_type, obj_id)
    obj["_deleted"] = True
    ctx.state.dirty = True
    if event:
        emit(ctx.state, f"{obj_type}.deleted", obj)
    return {"id": obj_id, "object": obj_type, "deleted": True}


def retrieve(ctx, obj_type, obj_id):
    """JSON of a stored object or 404."""
    return ctx.out(ctx.state.get(obj_type, obj_id))


def list_objects(ctx, obj_type, url, *filters, objects=None):
    """Paginated list of a type (newest first), filtered by ``created`` and ``filters``
    (each either a predicate or a ``(param, field)`` pair for equality filters)."""
    created_ok = created_filter(ctx.params)
    preds = []
    for flt in filters:
        if callable(flt):
            preds.append(flt)
        else:
            param, field = flt
            wanted = ctx.params.get(param)
            if wanted not in (None, ""):
                preds.append(lambda o, f=field, w=wanted: _field_str(o.get(f)) == w)
    objs = ctx.state.all(obj_type) if objects is None else objects
    selected = [o for o in objs if created_ok(o.get("created", 0)) and all(p(o) for p in preds)]
    page = paginate(selected, ctx.params, url)
    page["data"] = [ctx.out(o) for o in page["data"]]
    return page


def _field_str(value):
    if isinstance(value, bool):
        return str(value).lower()
    return value if value is None else str(value)


def search_objects(ctx, obj_type, url):
    """Stripe's search endpoints: ``{"object": "search_result", ...}`` newest first."""
    predicate = search_predicate(get_str(ctx.params, "query", required=True))
    matches = [ctx.out(o) for o in ctx.state.all(obj_type)]
    matches = [o for o in matches if predicate(o)]
    limit = int(ctx.params.get("limit") or 10)
    page = int(ctx.params.get("page") or 0)
    chunk = matches[page : page + limit]
    has_more = len(matches) > page + limit
    return {
        "object": "search_result",
        "data": chunk,
        "has_more": has_more,
        "url": url,
        "next_page": str(page + limit) if has_more else None,
    }
