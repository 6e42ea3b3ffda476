"""Stripe resource families; importing this package registers every route and renderer."""

from __future__ import annotations

from ..state import INCLUDES, RENDERERS
from . import (  # noqa: F401 - order matters: literal paths (/search) register before /{id}
    catalog,
    charges,
    clocks,
    credit_notes,
    customers,
    debits,
    discounts,
    invoices,
    meters,
    payment_intents,
    payment_methods,
    setup_intents,
    subscriptions,
    tax_ids,
    webhook_endpoints,
)

for _module in (catalog, charges, credit_notes, discounts, invoices, subscriptions, tax_ids):
    RENDERERS.update(getattr(_module, "RENDERERS_BY_TYPE", {}))
    INCLUDES.update(getattr(_module, "INCLUDES_BY_TYPE", {}))
