"""Redis copies of the rollups' current values, for entitlement checks in a few milliseconds.

Keys carry the cache prefix and the tenant's schema (two tenants never share a counter). Values are
written after the rollup's transaction commits, from the value the database returned; callbacks of
concurrent commits may run out of order, so monotonic aggregations only ever raise the stored value.
Redis is a cache here: when it is down, ingest goes on and checks read the rollup. A counter whose
update was lost that way would keep its old value once Redis answers again (a check would say 614
used for a true 684 until the next event): the process that lost the update remembers the key and
drops it before its next use of Redis, so the next check rebuilds it from the rollup.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from decimal import Decimal
from functools import lru_cache

import redis
from redis.commands.core import Script

from billing_project.business_metrics import business_counter_writes
from billing_project.redis import get_redis, redis_key

logger = logging.getLogger(__name__)

TTL_SECONDS = 40 * 24 * 3600  # a period and some slack; a miss is refilled from the rollup

# Everything an ingest's commit writes to Redis, in one call (issue 21: three round trips cost a
# single event about a fifth of its time). ARGV starts with the number of counters n, of claims m,
# of business counter increments b, and the counters' TTL; then, in KEYS order:
# - KEYS 1..n, the counters: ARGV (value, overwrite) each; a value replaces the stored one when
#   overwrite is '1' or it is higher (callbacks of concurrent commits may run out of order);
# - the m claims: ARGV (seconds) each, `SET key 1 NX EX seconds`; returned, 1 when claimed here;
# - the b business counter hashes: ARGV (field, amount, 'i' for HINCRBY or 'f' for HINCRBYFLOAT).
_RECORD = """
local n, m, b, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
local a = 4
for i = 1, n do
  local key, value, overwrite = KEYS[i], ARGV[a + 1], ARGV[a + 2]
  a = a + 2
  local current = redis.call('GET', key)
  if overwrite == '1' or not current or tonumber(value) > tonumber(current) then
    redis.call('SET', key, value, 'EX', ttl)
  end
end
local claimed = {}
for i = 1, m do
  claimed[i] = redis.call('SET', KEYS[n + i], '1', 'NX', 'EX', ARGV[a + 1]) and 1 or 0
  a = a + 1
end
for i = 1, b do
  local key, field, amount, kind = KEYS[n + m + i], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3]
  a = a + 3
  if kind == 'i' then
    redis.call('HINCRBY', key, field, amount)
  else
    redis.call('HINCRBYFLOAT', key, field, amount)
  end
end
return claimed
"""


@lru_cache(maxsize=1)
def _record_script(client: redis.Redis) -> Script:
    """_RECORD registered with the process's client once (registering hashes the script)."""
    return client.register_script(_RECORD)


def plain_decimal(value: Decimal) -> str:
    value = Decimal(value)
    return str(int(value)) if value == value.to_integral() else format(value.normalize(), "f")


def counter_key(schema: str, resource: str, period_start: datetime) -> str:
    return redis_key(schema, "usage", resource, int(period_start.timestamp()))


# Keys whose update this process could not write (Redis unreachable): stale until dropped.
_stale: set[str] = set()
_stale_lock = threading.Lock()
_STALE_MAX = 50_000


def _stale_add(keys: list[str]) -> None:
    with _stale_lock:
        if len(_stale) + len(keys) > _STALE_MAX:
            # More than can be tracked: drop every counter instead (all are rebuilt from the rollups).
            _stale.clear()
            _stale.add("*")
        else:
            _stale.update(keys)


def _stale_drop(client: redis.Redis) -> None:
    """Drop the counters this process failed to update, now that Redis answers (raises RedisError if not)."""
    if not _stale:
        return
    with _stale_lock:
        keys = list(_stale)
        _stale.clear()
    try:
        if "*" in keys:
            keys = list(client.scan_iter(match=redis_key("*", "usage", "*"), count=1000))
        if keys:
            client.delete(*keys)
    except redis.RedisError:
        _stale_add(keys)
        raise
    logger.info("dropped %d usage counter(s) left stale by a Redis outage", len(keys))


def counters_store(
    schema: str,
    values: list[tuple[str, datetime, Decimal, bool]],
    *,
    claims: list[tuple[str, int]] | None = None,
    increments: list[tuple[str, dict[str, str], int | Decimal]] | None = None,
) -> list[bool]:
    """Store (resource, period_start, used, overwrite) values, overwrite for `last` meters; with an
    ingest's debounce `claims` ((key, seconds): `SET key 1 NX EX seconds`) and
    its business counter `increments` in the same round trip. Returns whether each claim was taken
    here; none is when Redis does not answer."""
    claims, increments = claims or [], increments or []
    if not (values or claims or increments):
        return []
    keys = [counter_key(schema, resource, period_start) for resource, period_start, _, _ in values]
    try:
        client = get_redis()
        _stale_drop(client)
        writes = business_counter_writes(increments)
        args: list[str | int] = [len(values), len(claims), len(writes), TTL_SECONDS]
        for _, _, used, overwrite in values:
            args += [plain_decimal(used), "1" if overwrite else "0"]
        args += [seconds for _, seconds in claims]
        for _, field, amount, integer in writes:
            args += [field, amount, "i" if integer else "f"]
        # EVALSHA, loading the script once per server when it is missing.
        claimed = _record_script(client)(
            keys=[*keys, *(key for key, _ in claims), *(key for key, _, _, _ in writes)], args=args
        )
    except redis.RedisError as exc:
        # Not knowing whether the write happened, the keys are dropped once Redis answers again.
        _stale_add(keys)
        logger.warning(
            "usage counters not updated in Redis (%s); rebuilt from the rollups later", exc
        )
        return [False] * len(claims)
    return [bool(flag) for flag in claimed]


def counter_get(schema: str, resource: str, period_start: datetime) -> Decimal | None:
    try:
        client = get_redis()
        _stale_drop(client)
        raw = client.get(counter_key(schema, resource, period_start))
    except redis.RedisError:
        logger.warning("usage counter not read from Redis", exc_info=True)
        return None
    return None if raw is None else Decimal(raw.decode() if isinstance(raw, bytes) else raw)


def counter_forget(schema: str, resource: str, period_start: datetime) -> None:
    try:
        get_redis().delete(counter_key(schema, resource, period_start))
    except redis.RedisError:
        _stale_add([counter_key(schema, resource, period_start)])
        logger.warning("usage counter not deleted in Redis", exc_info=True)


# Alerts this process saw recorded: a tenant over its limit sends every event past both thresholds,
# and an alert, once recorded, stays so for its period (no Redis round trip per event for it).
_alerts_seen: set[str] = set()
_ALERTS_SEEN_MAX = 50_000


def alert_marked(schema: str, resource: str, period_start: datetime, threshold: int) -> bool:
    """Whether this process may skip the database for an alert already recorded."""
    key = f"{counter_key(schema, resource, period_start)}:alert:{threshold}"
    if key in _alerts_seen:
        return True
    try:
        marked = bool(get_redis().exists(key))
    except redis.RedisError:
        return False
    if marked:
        _alert_seen(key)
    return marked


def alert_mark(schema: str, resource: str, period_start: datetime, threshold: int) -> None:
    key = f"{counter_key(schema, resource, period_start)}:alert:{threshold}"
    try:
        get_redis().set(key, 1, ex=TTL_SECONDS)
    except redis.RedisError:
        return
    _alert_seen(key)


def _alert_seen(key: str) -> None:
    if len(_alerts_seen) >= _ALERTS_SEEN_MAX:
        _alerts_seen.clear()
    _alerts_seen.add(key)


def alerts_seen_forget() -> None:
    _alerts_seen.clear()
