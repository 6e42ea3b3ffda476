"""Business series of /metrics, kept in Redis so every process adds to the same numbers.

prometheus_client's counters live in the memory (or, under gunicorn, the multi-process files) of the
process that counts; Prometheus scrapes only web's /metrics, so what the Celery worker and beat count
(notification deliveries, payments recorded from webhooks, the subscription snapshot) would never be
seen. Here a counter is a Redis hash per series name (field = the label values, HINCRBY), a gauge a
hash replaced as a whole by its writer, and `BusinessCollector` reads them all at scrape time in one
round trip, without touching the database.

Metrics must never break billing: a Redis error is logged and swallowed on write, and a scrape with
Redis down simply leaves these series out.
"""

from __future__ import annotations

import json
import logging
from decimal import Decimal

import redis
from prometheus_client import REGISTRY
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from billing_project.redis import get_redis, redis_key

logger = logging.getLogger(__name__)

# Every business series: name -> (help, label names). The collector exports exactly these, and the
# dashboards test checks the Grafana and alert expressions against the scrape.
COUNTERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "billing_payments_total": (
        "Payment attempts on invoices by outcome (succeeded, failed) and currency, counted once per attempt",
        ("status", "currency"),
    ),
    "billing_notifications_total": (
        "Notification delivery outcomes by channel, kind and status (sent, retrying, failed)",
        ("channel", "kind", "status"),
    ),
    "billing_usage_events_total": (
        "Usage events stored, by plan and resource type (never by tenant; unknown resources: other)",
        ("plan_id", "resource_type"),
    ),
    "billing_usage_quantity_total": (
        "Usage quantity stored, by plan and resource type (never by tenant; unknown resources: other)",
        ("plan_id", "resource_type"),
    ),
}
GAUGES: dict[str, tuple[str, tuple[str, ...]]] = {
    # A gauge despite the _total suffix: the dashboards and the seed README expect this name.
    "billing_subscriptions_total": (
        "Current subscriptions by Stripe status and plan (snapshot refreshed every minute by beat)",
        ("status", "plan_id"),
    ),
    "billing_monthly_revenue_dollars": (
        "Monthly recurring revenue in major units of the currency: active and past_due subscriptions, "
        "monthly price or yearly price / 12 (snapshot refreshed every minute by beat)",
        ("currency",),
    ),
    "billing_mrr_dollars": (
        "MRR per currency in major units from the finance facts (analytics; refreshed every minute)",
        ("currency",),
    ),
    "billing_mrr_movements_dollars": (
        "This month's MRR movements per currency and kind (new, expansion, contraction, churn, "
        "reactivation) in major units, from the finance facts (refreshed every minute)",
        ("currency", "kind"),
    ),
}
# A snapshot nobody refreshes (beat stopped) disappears instead of showing stale numbers forever.
GAUGE_TTL_SECONDS = 5 * 60


def series_key(name: str) -> str:
    return redis_key("metrics", name)


def _field(name: str, labelnames: tuple[str, ...], labels: dict) -> str:
    if set(labels) != set(labelnames):
        raise ValueError(f"{name}: labels {sorted(labels)} are not {sorted(labelnames)}")
    return json.dumps([str(labels[label]) for label in labelnames], separators=(",", ":"))


def business_counter_inc(name: str, labels: dict, amount: int = 1) -> None:
    """Add `amount` to a business counter (one of COUNTERS). Call it after the commit of what it counts
    (transaction.on_commit), so a rolled-back and retried action is counted once."""
    field = _field(name, COUNTERS[name][1], labels)
    try:
        get_redis().hincrby(series_key(name), field, int(amount))
    except redis.RedisError:
        logger.warning("business metric %s not counted in Redis", name, exc_info=True)


def business_counter_add(name: str, labels: dict, amount) -> None:
    """Add a decimal `amount` (e.g. a usage quantity of 12.5) to a business counter, after the commit
    of what it counts. Stored as Redis' float increment: a metric, never money."""
    field = _field(name, COUNTERS[name][1], labels)
    try:
        get_redis().hincrbyfloat(series_key(name), field, str(amount))  # type: ignore[arg-type]  # redis-py sends a str as given (Decimal's digits); its types ask for a float
    except redis.RedisError:
        logger.warning("business metric %s not counted in Redis", name, exc_info=True)


def business_counter_writes(
    increments: list[tuple[str, dict, int | Decimal]],
) -> list[tuple[str, str, str, bool]]:
    """The Redis writes of business counter increments (name, labels, amount): (hash key, field,
    amount as text, whether it is an integer increment), for a caller that sends them with other
    commands (usage.counters.counters_store)."""
    return [
        (
            series_key(name),
            _field(name, COUNTERS[name][1], labels),
            str(amount),
            isinstance(amount, int),
        )
        for name, labels, amount in increments
    ]


def business_gauges_store(values: dict[str, dict[tuple[str, ...], Decimal | int]]) -> None:
    """Replace the snapshot of the given gauges (name -> {label values in GAUGES order: value}); series
    absent from the new snapshot disappear. One transaction, so a scrape never sees half of it."""
    try:
        pipe = get_redis().pipeline(transaction=True)
        for name, samples in values.items():
            labelnames = GAUGES[name][1]
            key = series_key(name)
            pipe.delete(key)
            if samples:
                pipe.hset(
                    key,
                    mapping={
                        _field(
                            name, labelnames, dict(zip(labelnames, labelvalues, strict=True))
                        ): str(value)
                        for labelvalues, value in samples.items()
                    },
                )
                pipe.expire(key, GAUGE_TTL_SECONDS)
        pipe.execute()
    except redis.RedisError:
        logger.warning("business gauges not stored in Redis", exc_info=True)


class BusinessCollector:
    """prometheus_client collector of the Redis-backed series: one pipeline of HGETALLs per scrape."""

    def describe(self):
        # Lets the registry check names at registration without a Redis round trip.
        return list(self._families({}))

    def collect(self):
        names = [*COUNTERS, *GAUGES]
        try:
            pipe = get_redis().pipeline(transaction=False)
            for name in names:
                pipe.hgetall(series_key(name))
            stored = dict(zip(names, pipe.execute(), strict=True))
        except redis.RedisError:
            logger.warning(
                "business metrics not read from Redis; left out of this scrape", exc_info=True
            )
            return []
        return list(self._families(stored))

    @staticmethod
    def _families(stored: dict[str, dict[bytes, bytes]]):
        for kinds, family_class in ((COUNTERS, CounterMetricFamily), (GAUGES, GaugeMetricFamily)):
            for name, (documentation, labelnames) in kinds.items():
                family = family_class(name, documentation, labels=labelnames)
                for field, value in sorted(stored.get(name, {}).items()):
                    try:
                        labelvalues = json.loads(field)
                        family.add_metric(labelvalues, float(Decimal(value.decode())))
                    except (ValueError, ArithmeticError):
                        logger.warning(
                            "business metric %s: unreadable field %r = %r", name, field, value
                        )
                yield family


COLLECTOR = BusinessCollector()
REGISTRY.register(COLLECTOR)
