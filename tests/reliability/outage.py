"""Dependency outages for in-process tests: Redis (cache, counters, broker) or PostgreSQL refusing
connections, without touching the machine's servers (other test runs use them)."""

from __future__ import annotations

import contextlib
import socket

REFUSED = "[Errno 111] Connection refused"


def closed_port() -> int:
    """A local port nothing listens on (bound, then released): connecting is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def redis_down(settings, monkeypatch):
    """Every Redis user of the app (the shared client, Django's caches, the Celery broker) meets a
    closed port until the block ends; then the real Redis answers again."""
    from celery.app.task import Task
    from kombu.exceptions import OperationalError as BrokerError

    from billing_project.redis import get_redis

    url = f"redis://127.0.0.1:{closed_port()}/0"
    redis_url, caches = settings.REDIS_URL, settings.CACHES

    def broker_refuses(*args, **kwargs):
        # What kombu raises once its publish retries against a stopped Redis broker are spent (tests
        # send tasks to an in-memory broker, so the refusal is played here).
        raise BrokerError(f"Error 111 connecting to {url}. Connection refused.")

    settings.REDIS_URL = url
    settings.CACHES = {
        name: {**conf, "LOCATION": url} for name, conf in caches.items()
    }  # resets django's caches
    get_redis.cache_clear()
    with monkeypatch.context() as patch:
        patch.setattr(Task, "apply_async", broker_refuses)
        try:
            yield
        finally:
            settings.REDIS_URL, settings.CACHES = redis_url, caches
            get_redis.cache_clear()


@contextlib.contextmanager
def database_refused(monkeypatch):
    """Every new database cursor fails as with PostgreSQL stopped (or out of connections)."""
    from django.db import OperationalError
    from django.db.backends.base.base import BaseDatabaseWrapper

    def refuse(self):
        raise OperationalError(f'connection to server at "127.0.0.1", port 5432 failed: {REFUSED}')

    with monkeypatch.context() as patch:
        patch.setattr(BaseDatabaseWrapper, "ensure_connection", refuse)
        yield
