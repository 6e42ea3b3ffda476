from tests.subscriptions.conftest import finance_admin  # noqa: F401  (the admin client as finance staff)
