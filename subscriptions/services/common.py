"""Helpers shared by the services: the dj-stripe mirror, idempotency keys."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction

from billing_project.stripe_gateway.client import configure_global_stripe
from billing_project.stripe_gateway.data import StripeData
from billing_project.stripe_gateway.keys import op_key as op_key  # noqa: F401 -- the one Idempotency-Key helper, re-exported
from billing_project.timestamps import from_ts  # noqa: F401 -- re-exported for the webhook module

if TYPE_CHECKING:
    from tenants.models import Tenant

logger = logging.getLogger(__name__)


def mirror(model_name: str, data: StripeData, *, tenant: Tenant | None = None) -> object:
    """Mirror one Stripe object into dj-stripe's tables. The mirror is a copy for the admin and
    reports; our own state (BillingAccount) never depends on it, so a failure is logged, not raised."""
    from djstripe import models as djstripe_models

    configure_global_stripe()
    try:
        with (
            transaction.atomic()
        ):  # a savepoint: a failed sync must not break the caller's transaction
            obj = getattr(djstripe_models, model_name).sync_from_stripe_data(
                data, api_key=settings.STRIPE_API_KEY
            )
            if tenant is not None and model_name == "Customer" and obj.subscriber_id != tenant.pk:
                obj.subscriber = tenant
                obj.save(update_fields=["subscriber"])
            return obj
    except Exception:
        logger.exception("dj-stripe mirror of %s %s failed", model_name, data.get("id"))
        return None
