"""Billing details tests: the subscriptions tests' Stripe fixtures and the portal's sign-in."""

from tests.invoicing.conftest import celery_eager, media  # noqa: F401 (fixtures)
from tests.payments.conftest import deliver  # noqa: F401,E402
from tests.portal.conftest import owner_portal, portal_client_for, viewer_portal  # noqa: F401
from tests.subscriptions.conftest import (  # noqa: F401 (fixtures)
    catalog,
    hooks,
    pytest_configure,
    stripe_on,
)
