"""Helpers shared by the services: Stripe timestamps, the dj-stripe mirror, idempotency keys."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timezone

from django.conf import settings
from django.db import transaction

from subscriptions import gateway

logger = logging.getLogger(__name__)


def from_ts(value) -> datetime | None:
    return datetime.fromtimestamp(int(value), tz=timezone.utc) if value else None


def op_key(operation: str, tenant, request_key: str | None = None) -> str:
    """The Stripe Idempotency-Key of one operation: the API client's key when it sent one (its retry
    must reach Stripe with the same key), a fresh one otherwise."""
    return f"{operation}:{tenant.id}:{request_key or uuid.uuid4().hex}"


def mirror(model_name: str, data, *, tenant=None):
    """Mirror one Stripe object into dj-stripe's tables. The mirror is a copy for the admin and
    reports; our own state (BillingAccount) never depends on it, so a failure is logged, not raised."""
    from djstripe import models as djstripe_models

    gateway.configure_global_stripe()
    try:
        with transaction.atomic():  # a savepoint: a failed sync must not break the caller's transaction
            obj = getattr(djstripe_models, model_name).sync_from_stripe_data(data, api_key=settings.STRIPE_API_KEY)
            if tenant is not None and model_name == "Customer" and obj.subscriber_id != tenant.pk:
                obj.subscriber = tenant
                obj.save(update_fields=["subscriber"])
            return obj
    except Exception:
        logger.exception("dj-stripe mirror of %s %s failed", model_name, data.get("id"))
        return None
