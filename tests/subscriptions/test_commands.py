"""The operations commands against the emulator: replay_webhooks, stripe_resync, advance_clock,
stripe_backfill_customers (sync_plans_to_stripe's idempotence is in test_catalog)."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tests.subscriptions.conftest import subscribe

pytestmark = pytest.mark.django_db


def _run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_replay_webhooks_since_reprocesses_each_stored_event_once(hooks, owner_client, tenant):
    from subscriptions.models import BillingAccount, WebhookEvent

    subscribe(owner_client, plan_id="starter", payment_method="pm_card_visa", trial_days=14)
    hooks.deliver()
    events = list(WebhookEvent.objects.all())
    assert events and all(e.attempts == 1 and e.status == "processed" for e in events)
    # A handler bug left one event failed and the account wrong.
    broken = WebhookEvent.objects.get(type="customer.subscription.created")
    WebhookEvent.objects.filter(pk=broken.pk).update(status="failed", error="KeyError: 'items'")
    BillingAccount.objects.filter(tenant=tenant).update(status="unpaid")

    out = _run("replay_webhooks", "--since", "1h", "--failed-only")
    assert "replayed 1 event(s)" in out
    broken.refresh_from_db()
    assert broken.status == "processed" and broken.attempts == 2 and broken.error == ""
    assert BillingAccount.objects.get(tenant=tenant).status == "trialing"  # re-fetched from Stripe
    assert sorted(e.attempts for e in WebhookEvent.objects.exclude(pk=broken.pk)) == [1] * (
        len(events) - 1
    )

    out = _run("replay_webhooks", "--since", "1h")
    assert f"replayed {len(events)} event(s)" in out
    assert WebhookEvent.objects.get(pk=broken.pk).attempts == 3
    assert "replayed 0 event(s)" in _run("replay_webhooks", "--since", "2099-01-01T00:00:00Z")
    with pytest.raises(CommandError):
        _run("replay_webhooks", "--since", "yesterday")


def test_stripe_resync_pulls_changes_made_in_stripe_into_the_account_and_the_mirror(
    catalog, tenant, stripe_client
):
    from djstripe.models import Subscription

    from subscriptions.models import BillingAccount
    from subscriptions.services.subscriptions import subscription_create

    account, _ = subscription_create(
        tenant=tenant, plan_id="starter", payment_method="pm_card_visa", trial_days=14
    )
    # Changed in Stripe's dashboard, and its webhooks lost.
    stripe_client.v1.subscriptions.update(
        account.subscription_id, params={"cancel_at_period_end": True}
    )
    assert BillingAccount.objects.get(pk=account.pk).cancel_at_period_end is False

    out = _run("stripe_resync", "--tenant", "acme")
    assert "[1/1] acme: trialing" in out
    assert BillingAccount.objects.get(pk=account.pk).cancel_at_period_end is True
    assert Subscription.objects.get(id=account.subscription_id).cancel_at_period_end is True

    everyone = _run("stripe_resync")
    assert "acme: trialing" in everyone and "globex: no Stripe customer" in everyone
    with pytest.raises(CommandError):
        _run("stripe_resync", "--tenant", "nope")


def test_advance_clock_moves_the_clock_and_the_subscription_state_follows(catalog, tenant):
    from subscriptions.models import BillingAccount
    from subscriptions.services.subscriptions import subscription_create

    account, _ = subscription_create(
        tenant=tenant, plan_id="starter", payment_method="pm_card_visa", trial_days=3
    )
    start = account.clock_time
    out = _run("advance_clock", "--tenant", "acme", "--days", "4")
    assert "subscription active" in out
    account = BillingAccount.objects.get(pk=account.pk)
    assert account.status == "active" and account.trial_end is not None
    assert account.clock_time >= start + timedelta(days=4) > account.trial_end
    with pytest.raises(CommandError):
        _run("advance_clock", "--tenant", "nope", "--days", "1")


def test_stripe_backfill_customers_creates_missing_customers_once(stripe_on, stripe_client):
    from subscriptions.models import BillingAccount
    from tenants.models import Tenant

    tenants = list(Tenant.objects.exclude(schema_name="public"))
    assert not BillingAccount.objects.exclude(stripe_customer_id="").exists()
    out = _run("stripe_backfill_customers")
    assert f"[{len(tenants)}/{len(tenants)}]" in out
    accounts = {a.tenant.slug: a for a in BillingAccount.objects.select_related("tenant")}
    assert set(accounts) == {t.slug for t in tenants} and all(
        a.stripe_customer_id for a in accounts.values()
    )
    customer = stripe_client.v1.customers.retrieve(accounts["globex"].stripe_customer_id)
    assert customer.metadata["tenant_slug"] == "globex"

    _run("stripe_backfill_customers")
    assert len(stripe_client.v1.customers.list(params={"limit": 100}).data) == len(tenants)
