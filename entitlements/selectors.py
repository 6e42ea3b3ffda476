"""Effective entitlements of a tenant: the boolean features of its effective plan (the plan
`subscriptions.selectors.entitlements_get` picks: paid, grace period, or the free plan) beside the
numeric limits. Checks answer from the same per-process cache as the usage limits
(`usage.limits.limits_get`, dropped on a plan change), so a feature check follows an upgrade on
the next request; the feature catalog is cached per plan for the same few seconds."""

from __future__ import annotations

import threading
import time

from entitlements.models import Feature

CACHE_SECONDS = 10
_cache: dict[str, tuple[float, frozenset[str]]] = {}
_lock = threading.Lock()


def feature_list() -> list[Feature]:
    return list(Feature.objects.all())


def _plan_features(plan_code: str | None) -> frozenset[str]:
    from subscriptions.models import Plan

    now = time.monotonic()
    key = plan_code or ""
    hit = _cache.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]
    keys = Plan.objects.filter(code=plan_code).values_list("feature_keys", flat=True).first()
    features = frozenset(keys or [])
    with _lock:
        _cache[key] = (now + CACHE_SECONDS, features)
    return features


def features_forget() -> None:
    """Drop cached plan features (tests, or after a plan edit in this process)."""
    with _lock:
        _cache.clear()


def entitlements_effective(*, tenant) -> dict:
    """{"plan_id", "features": [{"key", "name", "names", "enabled"}], "limits": {resource: n|None}}."""
    from django.utils import translation

    from usage.limits import limits_get

    limits = limits_get(tenant)
    granted = _plan_features(limits.plan_code)
    language = translation.get_language() or tenant.locale or "en"
    return {
        "plan_id": limits.plan_code,
        "features": [
            {
                "key": feature.key,
                "name": feature.name_in(language),
                "names": {
                    "en": feature.name_en,
                    "pt-br": feature.name_pt_br,
                    "es": feature.name_es,
                },
                "enabled": feature.key in granted,
            }
            for feature in feature_list()
        ],
        "limits": {
            resource: None if limit is None else str(limit)
            for resource, limit in limits.limits.items()
        },
    }


def feature_check(*, tenant, key: str) -> dict:
    """{"feature", "allowed", "plan_id"} from the cached entitlements; a key the catalog does not
    know is allowed nowhere (the API says so with a 400)."""
    from usage.limits import limits_get

    limits = limits_get(tenant)
    return {
        "feature": key,
        "allowed": key in _plan_features(limits.plan_code),
        "plan_id": limits.plan_code,
    }


def feature_known(key: str) -> bool:
    return Feature.objects.filter(key=key).exists()
