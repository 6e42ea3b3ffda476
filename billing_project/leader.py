"""One leader among several processes: a lease in Redis (redis-py's Lock: SET NX PX, renewed and
released by token-checked Lua scripts, so a process can only renew or drop a lease it still holds).

    lease = LeaderLease("beat", ttl=30)
    if lease.hold():      # acquires, or renews the lease this process already holds
        ...               # act as the leader until the next hold()
    lease.release()       # at a clean stop: a standby takes over at its next hold()

A leader that dies without releasing is replaced after `ttl` seconds at most. A leader must call
hold() well within `ttl` (beat does at every tick, at most every ttl/3 seconds), or another process
may take the lease while it still thinks it leads. Redis unreachable -> nobody leads (hold() is False
and says why once): beat's broker is that same Redis, so nothing could be sent anyway.
"""

from __future__ import annotations

import logging
import os
import socket

import redis
from redis.exceptions import LockError, RedisError

from billing_project.redis import get_redis, redis_key

logger = logging.getLogger(__name__)


class LeaderLease:
    def __init__(self, name: str, *, ttl: float, client: redis.Redis | None = None):
        self.name = name
        self.ttl = ttl
        self.key = redis_key("leader", name)
        # The holder's identity is in the value too (`redis-cli GET` shows who leads).
        self.identity = f"{socket.gethostname()}:{os.getpid()}"
        self._lock = (client or get_redis()).lock(
            self.key, timeout=ttl, blocking=False, thread_local=False
        )
        self._leading = False
        self._error_logged = False

    @property
    def leading(self) -> bool:
        """What the last hold() found (no Redis round trip)."""
        return self._leading

    def hold(self) -> bool:
        """Acquire the lease, or renew it when this process holds it already. True when leading."""
        try:
            leading = self._renew() or self._lock.acquire(
                blocking=False, token=f"{self.identity}:{os.urandom(8).hex()}"
            )
        except RedisError as exc:
            if not self._error_logged:
                logger.warning("leader %s: Redis unreachable, not leading: %s", self.name, exc)
                self._error_logged = True
            leading = False
        else:
            self._error_logged = False
        if leading != self._leading:
            if leading:
                logger.info("leader %s: this process (%s) leads now", self.name, self.identity)
            else:
                logger.warning("leader %s: lease lost by %s", self.name, self.identity)
        self._leading = leading
        return leading

    def _renew(self) -> bool:
        if self._lock.local.token is None:
            return False
        try:
            return bool(self._lock.reacquire())
        except LockError:  # expired and (maybe) taken by another process meanwhile
            self._lock.local.token = None
            return False

    def release(self) -> None:
        """Drop the lease if this process holds it (a clean stop); harmless otherwise."""
        self._leading = False
        if self._lock.local.token is None:
            return
        try:
            self._lock.release()
            logger.info("leader %s: released by %s", self.name, self.identity)
        except (LockError, RedisError):  # expired already, or Redis gone: the TTL frees it
            self._lock.local.token = None
