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


def euro_plan_create(code="starter-eur", name="Starter EU", monthly=2500, yearly=25000):
    """A public plan priced in EUR (SEPA Direct Debit collects euros only), synced to the emulator."""
    from subscriptions.models import Plan
    from subscriptions.selectors import plan_catalog_invalidate
    from subscriptions.services.catalog import plan_sync_to_stripe

    starter = Plan.objects.get(code="starter")
    plan = Plan.objects.create(
        code=code,
        name=name,
        currency="eur",
        price_monthly=monthly,
        price_yearly=yearly,
        features=starter.features,
        limits=starter.limits,
        feature_keys=starter.feature_keys,
    )
    plan_sync_to_stripe(plan=plan)
    plan_catalog_invalidate()
    return plan


def bill_in(tenant, country):
    """The tenant's billing address in `country` (its country picks the currency it is billed in)."""
    from billing_details.models import BillingDetails

    BillingDetails.objects.update_or_create(tenant=tenant, defaults={"country": country})


@pytest.fixture
def euro_plan(catalog, tenant):  # noqa: F811 (the imported fixture)
    """Acme bills in euros (a German billing address) and a EUR plan is in the catalog."""
    plan = euro_plan_create()
    bill_in(tenant, "DE")
    return plan
