"""Per-process cache of the public-schema reads that every request makes: host -> tenant (tenant
middleware), API key secret -> key and access token -> user and membership (API authentication),
and the rendered public plan catalog (GET /api/v1/plans).

Without it each API request pays two extra queries and their `SET search_path` before doing any
work, the largest share of the single-event ingest path. Staleness is bounded by a change channel
in Redis (pub/sub): every committed change of a tenant, domain, API key, user, membership or plan
is published there (`epoch_bump`), and so is the key of each entry that changes on its own, such as
a tenant's billing status and limits when its subscription changes (`key_changed`). Each process,
subscribed once, drains its subscription before it trusts an entry: a non-blocking read of a socket
(about 3 us, where the Redis GET of an epoch it replaces cost 65 us of CPU and 105 us of wall time
on every request; issue 21), dropping every entry, or only the named ones, when anything arrived.
Redis writes a message to its subscribers in the same turn of its event loop as the publisher's
reply, so by the time the committing request has answered, the message waits in every other
process's socket: a revoked key, a removed member or a suspended tenant is refused by every worker
of every node from its next request.

While the subscription is down (Redis unreachable, a dropped connection) nothing is cached, and a
new subscription starts with an empty cache, so nothing published meanwhile can be missed. Entries
also expire after CREDENTIAL_CACHE_SECONDS, the bound when a publisher could not reach Redis.

Nothing is cached while a transaction is open (`in_atomic_block`): what a transaction reads may
still roll back (tests run inside one, so they read the database, except the cache's own tests).
"""

from __future__ import annotations

import logging
import os
import select
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar, cast

from django.conf import settings
from django.db import connection, transaction

logger = logging.getLogger(__name__)

MAX_ENTRIES = 10_000  # a flood of made-up hosts or keys empties the cache instead of growing it
# After the subscription failed, how long a process reads the database before subscribing again:
# doubled after each failure in a row up to RESUBSCRIBE_MAX_SECONDS (an unreachable Redis costs its
# connect timeout to the request that tries).
RESUBSCRIBE_SECONDS = 1.0
RESUBSCRIBE_MAX_SECONDS = 30.0
_entries: dict[str, tuple[float, object]] = {}
_lock = threading.RLock()
# generation: incremented whenever all entries are dropped (other per-process caches keep it beside
# an entry, see epoch()); seen: incremented by every message, so that a value loaded while one
# arrived is not stored; pubsub: this process's subscription (None while down), pid: its owner.
_state: dict[str, Any] = {
    "generation": 0,
    "seen": 0,
    "pubsub": None,
    "poller": None,
    "pid": None,
    "retry_at": float("-inf"),
    "failures": 0,
    "reconnected": False,
    # Held only to keep them alive: the subscription's client (collected, it disconnects its pool)
    # and its reconnect listener (redis-py keeps a weak reference).
    "client": None,
    "listener": None,
}


def channel() -> str:
    """The change channel. Pub/sub channels are not per database: the database number is in the name
    so that two deployments (or test runs) on one Redis do not drop each other's entries."""
    from billing_project.redis import get_redis, redis_key

    db = get_redis().connection_pool.connection_kwargs.get("db", 0)
    return redis_key("tenants", "changed", db)


# The message that drops every entry; any other names the one entry it drops (key_changed).
EVERYTHING = b"*"


def _drop_entries() -> None:
    with _lock:
        _entries.clear()
        _state["generation"] += 1
        _state["seen"] += 1


def _unsubscribe(now: float) -> None:
    pubsub = _state["pubsub"]
    _state["pubsub"] = _state["poller"] = None
    _state["failures"] += 1
    _state["retry_at"] = now + min(
        RESUBSCRIBE_SECONDS * 2 ** (_state["failures"] - 1), RESUBSCRIBE_MAX_SECONDS
    )
    _drop_entries()
    if pubsub is not None:
        try:
            pubsub.close()
        except Exception:  # the connection is gone already
            pass


class _ReconnectListener:
    def connected(self, _connection) -> None:
        _state["reconnected"] = True


def _subscribe(now: float) -> bool:
    """Subscribe this process (after its confirmation: what is published from then on is
    delivered) and start from an empty cache. False when Redis does not answer."""
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    # A client of its own without retries: a reconnect inside redis-py would re-subscribe silently,
    # and what was published in between would be missed.
    client = redis.Redis.from_url(
        settings.REDIS_URL,
        socket_connect_timeout=2,
        socket_timeout=2,
        socket_keepalive=True,
        retry=Retry(NoBackoff(), 0),
    )
    pubsub = client.pubsub()
    try:
        pubsub.subscribe(channel())
        confirmed = pubsub.get_message(timeout=2)
        if confirmed is None or confirmed["type"] != "subscribe":
            raise redis.ConnectionError(f"no subscription confirmed: {confirmed!r}")
        # Messages read with the confirmation predate the empty start below; none may stay in
        # redis-py's buffer, where the socket poll would not see it.
        while pubsub.get_message(timeout=0) is not None:
            pass
    except Exception as exc:
        logger.warning("credential cache off: no subscription to its changes (%s)", exc)
        _state["pubsub"] = pubsub
        _unsubscribe(now)
        return False

    listener = _ReconnectListener()
    connection = cast(Any, pubsub.connection)
    connection.register_connect_callback(listener.connected)
    # A poll of the socket tells in under a microsecond that nothing arrived, the usual answer
    # (redis-py's get_message takes 20 us to say so). Drains read until nothing is left, so no
    # message waits in redis-py's buffer while the socket is quiet.
    poller = select.poll()
    poller.register(connection._sock, select.POLLIN | select.POLLPRI)
    _state.update(
        pubsub=pubsub,
        client=client,
        poller=poller,
        pid=os.getpid(),
        failures=0,
        reconnected=False,
        listener=listener,
    )
    _drop_entries()
    return True


def _watching() -> bool:
    """Whether this process's entries can be trusted now: its subscription is up, and whatever
    arrived on it has dropped them."""
    now = time.monotonic()
    with _lock:
        if _state["pid"] != os.getpid():
            # Forked (gunicorn, Celery): the parent's socket is not this process's subscription.
            # Dropped without closing: redis-py closes only the child's copy of a parent's socket.
            _state.update(pubsub=None, pid=os.getpid(), retry_at=float("-inf"))
            _drop_entries()
        pubsub = _state["pubsub"]
        if pubsub is None:
            return now >= _state["retry_at"] and _subscribe(now)
        if not _state["poller"].poll(0) and not _state["reconnected"]:
            return True
        try:
            messages = []
            while (message := pubsub.get_message(timeout=0)) is not None:
                messages.append(message)
            if _state["reconnected"]:
                raise ConnectionError("the subscription reconnected")
        except Exception as exc:
            logger.warning("credential cache off for now: its subscription failed (%s)", exc)
            _unsubscribe(now)
            return False
        data = [m["data"] for m in messages if m["type"] == "message"]
        if EVERYTHING in data or len(data) != len(messages):
            _drop_entries()
        elif data:
            _state["seen"] += 1
            for key in data:
                _entries.pop(key.decode(), None)
        return True


def _cacheable() -> bool:
    return settings.CREDENTIAL_CACHE_SECONDS > 0 and not connection.in_atomic_block


def epoch() -> int | None:
    """This process's cache generation (None when caching is off or not watching changes): other
    per-process caches keep it beside an entry and trust the entry only while it is unchanged."""
    if settings.CREDENTIAL_CACHE_SECONDS <= 0 or not _watching():
        return None
    return cast(int, _state["generation"])


T = TypeVar("T")


def cached(
    key: str,
    load: Callable[[], T],
    *,
    keep: Callable[[T], bool] | None = None,
    seconds: float | None = None,
) -> T:
    """`load()`'s answer for `key`, from this process's cache while nothing changed (an answer
    `keep` refuses is never kept: a "not found" that may be found soon, a state that ends with
    time), for at most CREDENTIAL_CACHE_SECONDS, or `seconds` when fewer (an answer that also
    changes with the clock, which no message announces)."""
    if not _cacheable() or not _watching():
        return load()
    seen = _state["seen"]
    now = time.monotonic()
    with _lock:
        hit = _entries.get(key)
    if hit is not None and hit[0] > now:
        return cast(T, hit[1])  # stored by this function for the same key, so by the same load
    value = load()
    if keep is not None and not keep(value):
        return value
    with _lock:
        if len(_entries) >= MAX_ENTRIES:
            _entries.clear()
        # Not when a change arrived while loading: the value may predate it.
        if _state["seen"] == seen:
            lifetime = settings.CREDENTIAL_CACHE_SECONDS
            _entries[key] = (now + (lifetime if seconds is None else min(lifetime, seconds)), value)
    return value


def credentials_changed() -> None:
    """Call when a tenant, domain or key changed: every process drops its entries once the change
    is committed (publishing before the commit would let another process re-cache the old row)."""
    transaction.on_commit(epoch_bump)


def epoch_bump() -> None:
    """Every process drops its entries before its next lookup: call after the change committed."""
    forget_local()
    _publish(EVERYTHING)


def key_changed(*keys: str) -> None:
    """Every process drops its entries for `keys` (only) once the change is committed: for entries
    that change far more often than credentials do (a tenant's billing status and limits), whose
    change must not empty every tenant's entries in every process."""

    def publish():
        with _lock:
            for key in keys:
                _entries.pop(key, None)
        for key in keys:
            _publish(key.encode())

    transaction.on_commit(publish)


def _publish(message: bytes) -> None:
    from billing_project.redis import get_redis

    try:
        get_redis().publish(channel(), message)
    except Exception:  # entries in other processes then expire after CREDENTIAL_CACHE_SECONDS
        logger.warning("credential cache change not published: other processes keep their copy")


def restart() -> None:
    """Drop this process's subscription and entries: its next lookup subscribes again at once."""
    with _lock:
        _unsubscribe(float("-inf"))
        _state["failures"] = 0


def forget_local() -> None:
    """Drop this process's entries (its subscription stays)."""
    _drop_entries()
