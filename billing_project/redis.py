"""One Redis client per process for the features Django's cache API lacks (sorted sets, TTLs)."""

from functools import lru_cache

import redis
from django.conf import settings


@lru_cache(maxsize=1)
def get_redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2)


def redis_key(*parts) -> str:
    """A key of our own in Redis, behind the cache's KEY_PREFIX so that two deployments (or test runs)
    sharing one Redis never meet: redis_key("tenants", "epoch") -> "billing:tenants:epoch"."""
    prefix = str(settings.CACHES["default"].get("KEY_PREFIX", "billing"))
    return ":".join((prefix, *map(str, parts)))
