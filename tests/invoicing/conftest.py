"""Fixtures of the invoicing tests: the session's Stripe emulator (reset per test) with test clocks,
a tenant's customer and subscription on a clock, and a stand-in for the webhook endpoint that hands
the emulator's events to invoicing's handlers (the subscriptions app's endpoint does that in prod)."""

import pytest


def pytest_configure(config):
    if not config.pluginmanager.has_plugin("stripe_emulator.pytest_plugin"):
        config.pluginmanager.import_plugin("stripe_emulator.pytest_plugin")


@pytest.fixture
def celery_eager():
    from billing_project.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def stripe_on(stripe_settings, settings, celery_eager, media, db):
    from policies.services import policy_ensure

    stripe_settings.reset()
    settings.STRIPE_TEST_CLOCKS = True
    policy_ensure()  # the stored row, which tests change with update()
    yield stripe_settings
    stripe_settings.reset()


class Billing:
    """Drives one tenant's Stripe objects through the emulator and feeds events to the handlers."""

    def __init__(self, stripe_client, capture):
        self.stripe = stripe_client
        self.capture = capture
        self.seen: set[str] = set()
        self.prices: dict = {}

    def customer(self, tenant, card: str | None = "pm_card_visa"):
        from subscriptions.services.customers import customer_ensure

        account = customer_ensure(tenant=tenant)
        if card:
            self.set_card(account.stripe_customer_id, card, dispatch=False)
        return account

    def set_card(self, customer_id: str, card: str, dispatch: bool = True):
        pm = self.stripe.v1.payment_methods.attach(card, params={"customer": customer_id})
        self.stripe.v1.customers.update(
            customer_id, params={"invoice_settings": {"default_payment_method": pm.id}}
        )
        if dispatch:
            self.dispatch()
        return pm

    def price(self, amount: int = 2900, currency: str = "usd"):
        key = (amount, currency)
        if key not in self.prices:
            product = self.stripe.v1.products.create(params={"name": "Pro plan"})
            self.prices[key] = self.stripe.v1.prices.create(
                params={
                    "product": product.id,
                    "unit_amount": amount,
                    "currency": currency,
                    "recurring": {"interval": "month"},
                }
            )
        return self.prices[key]

    def subscribe(
        self, tenant, amount: int = 2900, currency: str = "usd", card: str = "pm_card_visa"
    ):
        account = self.customer(tenant, card=card)
        sub = self.stripe.v1.subscriptions.create(
            params={
                "customer": account.stripe_customer_id,
                "items": [{"price": self.price(amount, currency).id}],
            }
        )
        self.dispatch()
        return sub

    def advance(self, tenant, days: int):
        from subscriptions.services.clocks import test_clock_advance

        test_clock_advance(tenant=tenant, days=days)
        self.dispatch()

    def dispatch(self):
        """Every new event, oldest first, through invoicing's handlers (commit callbacks run, so
        PDF renders happen, eagerly)."""
        from subscriptions.services.webhooks import webhook_handle

        events = [
            e
            for e in self.stripe.v1.events.list(params={"limit": 100}).data
            if e.id not in self.seen
        ]
        for event in sorted(events, key=lambda e: (e.created, e.id)):
            self.seen.add(event.id)
            with self.capture(execute=True):
                webhook_handle(payload=event.to_dict(), apps={"invoicing"})

    def invoices(self, customer_id: str):
        return self.stripe.v1.invoices.list(params={"customer": customer_id, "limit": 100}).data


@pytest.fixture
def billing(stripe_on, stripe_client, django_capture_on_commit_callbacks):
    return Billing(stripe_client, django_capture_on_commit_callbacks)
