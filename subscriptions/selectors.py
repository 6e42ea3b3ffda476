"""Reads of the plan catalog. The public list is served from Redis (shared cache)."""

from django.core.cache import caches
from django.db.models import QuerySet

from subscriptions.models import Plan

PLANS_CACHE_KEY = "plans:public:v1"
PLANS_CACHE_SECONDS = 300


def plan_list_public() -> list[Plan]:
    """Public, active plans ordered by monthly price (cached; invalidated when a plan changes)."""
    cache = caches["shared"]
    plans = cache.get(PLANS_CACHE_KEY)
    if plans is None:
        plans = list(Plan.objects.filter(is_public=True, is_active=True).order_by("price_monthly", "code"))
        cache.set(PLANS_CACHE_KEY, plans, PLANS_CACHE_SECONDS)
    return plans


def plan_list() -> QuerySet[Plan]:
    return Plan.objects.all()


def plan_get(*, plan_id: str) -> Plan | None:
    return Plan.objects.filter(code=plan_id).first()


def plan_catalog_invalidate() -> None:
    caches["shared"].delete(PLANS_CACHE_KEY)
