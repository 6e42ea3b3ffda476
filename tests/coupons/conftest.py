from tests.subscriptions.conftest import (  # noqa: F401  (the same Stripe fixtures)
    billing_admin_client,
    catalog,
    finance_admin,
    other_client,
    pytest_configure,
    stripe_on,
)
