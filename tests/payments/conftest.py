"""SEPA Direct Debit and PayPal tests use the subscriptions tests' fixtures (emulator, catalog, hooks)."""

import json

import pytest

from tests.invoicing.conftest import celery_eager, media  # noqa: F401,E402 (fixtures)
from tests.portal.conftest import owner_portal, portal_client_for, viewer_portal  # noqa: F401,E402
from tests.subscriptions.conftest import (  # noqa: F401 (fixtures)
    billing_admin_client,
    catalog,
    hooks,
    other_client,
    pytest_configure,
    stripe_on,
)


@pytest.fixture
def deliver(hooks, django_capture_on_commit_callbacks):  # noqa: F811 (the imported fixture)
    """The emulator's new webhook events, oldest first, through the billing apps' handlers
    (subscriptions, invoicing), commit callbacks run (PDF renders, eager Celery). The outbound
    webhooks app is left out: these tests are about billing state, not what tenants are told."""
    from subscriptions.services.webhooks import webhook_handle

    def run():
        for request in hooks.pending():
            with django_capture_on_commit_callbacks(execute=True):
                webhook_handle(
                    payload=json.loads(request["body"]), apps={"subscriptions", "invoicing"}
                )

    return run
