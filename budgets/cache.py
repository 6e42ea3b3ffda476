"""The budget's state in Redis: answers "capped?" (and "is there a budget to check at all?") for each
usage ingest or entitlement check: NONE (no budget), OPEN, or CAPPED; each process keeps NONE and
OPEN in front of it (budgets.selectors.budget_state).

The database holds the truth (Budget.capped_until, written by the check and by budget changes);
Redis holds a copy per tenant for CAP_CACHE_SECONDS, dropped on every change. Redis is a cache
here: when it does not answer, the hot path reads the database (one indexed row), never fails;
a drop lost to an outage is bounded by the copy's TTL.
"""

from __future__ import annotations

import logging

import redis

from billing_project.redis import get_redis, redis_key
from tenants.cache import key_changed

logger = logging.getLogger(__name__)

CAP_CACHE_SECONDS = 60
CHECK_DEBOUNCE_SECONDS = 10
NONE, OPEN, CAPPED = "none", "open", "capped"
STATES = frozenset({NONE, OPEN, CAPPED})


def _cap_key(schema: str) -> str:
    return redis_key(schema, "budget", "state")


def state_cached(schema: str) -> tuple[bool, str | None]:
    """(Redis answered, the cached state or None)."""
    try:
        raw = get_redis().get(_cap_key(schema))
    except redis.RedisError:
        logger.warning("budget state not read from Redis; reading the database")
        return False, None
    if raw is None:
        return True, None
    state = raw.decode() if isinstance(raw, bytes) else str(raw)
    return True, (state if state in STATES else None)


def state_cache_store(schema: str, state: str) -> None:
    try:
        get_redis().set(_cap_key(schema), state, ex=CAP_CACHE_SECONDS)
    except redis.RedisError:
        logger.warning("budget state not stored in Redis")


def state_key(schema: str) -> str:
    """The state's entry in each process's cache (tenants.cache)."""
    return f"budget_state:{schema}"


def state_cache_forget(schema: str, *, rearm_check: bool = False) -> None:
    """Drop the cached state; with rearm_check also the check's debounce claim (check_debounce), so
    the next ingest schedules a check: ingest claims it whether or not the tenant has a budget (one
    round trip), so a budget set within the window of an ingest would otherwise wait for the next
    window's ingest."""
    keys = [_cap_key(schema)] + ([check_debounce(schema)[0]] if rearm_check else [])
    try:
        get_redis().delete(*keys)
    except redis.RedisError:
        # The copy expires within CAP_CACHE_SECONDS.
        logger.warning("budget state not dropped in Redis")
    # After the Redis copy: a process that reloads reads the new state, not the old copy.
    key_changed(state_key(schema))


def check_debounce(schema: str) -> tuple[str, int]:
    """The Redis key, and its window, whose claim (usage.counters.counters_store) says which
    ingest schedules the tenant's budget check: the first of each CHECK_DEBOUNCE_SECONDS window
    does, the others ride on it. Without Redis nobody does; the periodic check (beat) still runs."""
    return redis_key(schema, "budget", "check"), CHECK_DEBOUNCE_SECONDS
