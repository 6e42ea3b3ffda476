"""Per-process cache of the public-schema reads that every request makes: host -> tenant (tenant
middleware), API key secret -> key and access token -> user and membership (API authentication),
and the rendered public plan catalog (GET /api/v1/plans; a plan change bumps the same epoch).

Without it each API request pays two extra queries and their `SET search_path` before doing any
work, the largest share of the single-event ingest path. Staleness is bounded by an epoch in
Redis: every committed change of a tenant, domain, API key, user or membership increments it, and
each request reads it (one Redis GET) and drops its process's entries when it moved. So a revoked
key, a removed member or a suspended tenant is refused by every worker from its next request: the
epoch read is reused only within one request (`request_started` expires it) or, outside requests
(Celery tasks), for EPOCH_RECHECK_SECONDS.

Nothing is cached while a transaction is open (`in_atomic_block`): what a transaction reads may
still roll back (tests run inside one, so they read the database, except the cache's own tests).
When Redis does not answer, nothing is cached either.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar, cast

from django.conf import settings
from django.db import connection, transaction

MAX_ENTRIES = 10_000  # a flood of made-up hosts or keys empties the cache instead of growing it
_entries: dict[str, tuple[float, object]] = {}
_lock = threading.Lock()
_state: dict[str, Any] = {"epoch": None, "checked_at": float("-inf")}
# The host and the key of one request are looked up a few milliseconds apart: one epoch read serves
# both. Each request starts with a fresh read (request_recheck), so this bounds only the reuse within
# a request and outside requests.
EPOCH_RECHECK_SECONDS = 0.05


def _epoch_key() -> str:
    from billing_project.redis import redis_key

    return redis_key("tenants", "credentials", "epoch")


def _cacheable() -> bool:
    return settings.CREDENTIAL_CACHE_SECONDS > 0 and not connection.in_atomic_block


def _current_epoch() -> bytes | str | None:
    """The epoch in Redis, read at most once per EPOCH_RECHECK_SECONDS (a request asks twice)."""
    from billing_project.redis import get_redis

    now = time.monotonic()
    if _state["epoch"] is not None and now - _state["checked_at"] < EPOCH_RECHECK_SECONDS:
        return _state["epoch"]
    try:
        epoch = get_redis().get(_epoch_key()) or b"0"
    except Exception:  # Redis down: read the database every time rather than risk a stale answer
        return None
    with _lock:
        if epoch != _state["epoch"]:
            _entries.clear()
            _state["epoch"] = epoch
        _state["checked_at"] = now
    return epoch


def epoch() -> bytes | str | None:
    """The shared epoch as this request reads it (None when caching is off or Redis does not answer):
    other per-process caches keep it beside an entry and trust the entry only while it is unchanged."""
    if settings.CREDENTIAL_CACHE_SECONDS <= 0:
        return None
    return _current_epoch()


T = TypeVar("T")


def cached(key: str, load: Callable[[], T], *, keep_none: bool = True) -> T:
    """`load()`'s answer for `key`, from this process's cache while the epoch is unchanged
    (a None answer only with keep_none)."""
    if not _cacheable():
        return load()
    epoch = _current_epoch()
    if epoch is None:
        return load()
    now = time.monotonic()
    with _lock:
        hit = _entries.get(key)
    if hit is not None and hit[0] > now:
        return cast(T, hit[1])  # stored by this function for the same key, so by the same load
    value = load()
    if value is None and not keep_none:
        return value
    with _lock:
        if len(_entries) >= MAX_ENTRIES:
            _entries.clear()
        if _state["epoch"] == epoch:
            _entries[key] = (now + settings.CREDENTIAL_CACHE_SECONDS, value)
    return value


def credentials_changed() -> None:
    """Call when a tenant, domain or key changed: every process drops its entries once the change
    is committed (bumping before the commit would let another process re-cache the old row)."""
    transaction.on_commit(epoch_bump)


def epoch_bump() -> None:
    """Every process drops its entries at its next request: call after the change committed."""
    from billing_project.redis import get_redis

    forget_local()
    try:
        get_redis().incr(_epoch_key())
    except Exception:  # entries in other processes then expire after CREDENTIAL_CACHE_SECONDS
        pass


def request_recheck(**kwargs) -> None:
    """request_started: the request's first lookup reads the epoch again. Without it a request
    arriving within EPOCH_RECHECK_SECONDS of the previous one reused its read and still accepted a
    key revoked on another node in between (the two-node test, when the revoke answered in 20 ms)."""
    _state["checked_at"] = float("-inf")  # monotonic() may be small


def forget_local() -> None:
    with _lock:
        _entries.clear()
        _state["epoch"] = None
        _state["checked_at"] = float("-inf")  # monotonic() may be small
