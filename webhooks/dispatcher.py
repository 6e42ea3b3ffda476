"""The worker's sender pool: each endpoint is sent on threads of its own, never on a Celery slot.

A flush task only wakes the endpoint here and returns, so a worker slot is never held by a slow or
dead endpoint. The pool (WEBHOOKS_WORKER_THREADS per worker process) runs at most
WEBHOOKS_ENDPOINT_CONCURRENCY drains of one endpoint at a time: an endpoint answering in 10 s holds
that many threads and no more, while the other endpoints' drains take the rest. A drain sends for
WEBHOOKS_FLUSH_BUDGET_SECONDS and then goes to the back of the pool's queue if more is due, so a
backlog of one endpoint does not starve the others either. A process that dies with deliveries in
flight leaves them to their lease (webhooks.services.deliveries) and beat's sweep.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import connection

logger = logging.getLogger(__name__)


class Dispatcher:
    def __init__(self, threads: int):
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="webhook-send")
        self.lock = threading.Lock()
        self.active: dict[tuple[str, int], int] = {}
        self.dirty: set[tuple[str, int]] = set()

    def wake(self, tenant, endpoint_pk: int, want: int | None = None) -> int:
        """Start up to `want` (default: the per-endpoint limit) more drains of the endpoint; a wake
        while the limit is reached is remembered, so a drain about to stop looks once more."""
        key = (tenant.schema_name, endpoint_pk)
        limit = max(1, settings.WEBHOOKS_ENDPOINT_CONCURRENCY)
        with self.lock:
            running = self.active.get(key, 0)
            start = max(0, min(want or limit, limit - running))
            if not start:
                self.dirty.add(key)
                return 0
            self.active[key] = running + start
        for _ in range(start):
            self.pool.submit(self._drain, tenant, endpoint_pk, key)
        return start

    def _drain(self, tenant, endpoint_pk: int, key) -> None:
        from webhooks.services import deliveries_flush, next_due_in

        sent = 0
        try:
            sent = deliveries_flush(
                tenant=tenant,
                endpoint_pk=endpoint_pk,
                budget_seconds=settings.WEBHOOKS_FLUSH_BUDGET_SECONDS,
            )
        except Exception:  # one endpoint's trouble must not stop the pool
            logger.exception("webhook drain of endpoint %s in %s failed", endpoint_pk, key[0])
        finally:
            with self.lock:
                self.active[key] -= 1
                again = key in self.dirty
                self.dirty.discard(key)
            connection.close_if_unusable_or_obsolete()
        try:
            wait = next_due_in(tenant=tenant, endpoint_pk=endpoint_pk)
        except Exception:
            logger.exception("webhook endpoint %s in %s: next due unknown", endpoint_pk, key[0])
            return
        if wait is not None and wait <= 0 and (sent or again):
            self.wake(tenant, endpoint_pk, want=1)  # more is due: to the back of the queue
        elif wait is not None and wait <= 300:
            from webhooks.tasks import endpoints_wake

            endpoints_wake(tenant=tenant, endpoint_pks=[endpoint_pk], countdown=wait)

    def idle(self, timeout: float = 30.0) -> bool:
        """Wait until no drain runs (the benchmark, a graceful stop)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if not any(self.active.values()):
                    return True
            time.sleep(0.02)
        return False


_dispatcher: Dispatcher | None = None
_create_lock = threading.Lock()


def get() -> Dispatcher:
    """This process's pool (created on first use: after the worker forked its children)."""
    global _dispatcher
    with _create_lock:
        if _dispatcher is None:
            _dispatcher = Dispatcher(settings.WEBHOOKS_WORKER_THREADS)
        return _dispatcher
