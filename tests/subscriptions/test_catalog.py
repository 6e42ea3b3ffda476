"""Plans become Stripe Products and Prices; the sync is idempotent; a new price archives the old one."""

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_sync_creates_products_and_lookup_keyed_prices_and_the_plans_api_shows_them(
    stripe_on, stripe_client, api_client
):
    from io import StringIO

    out = StringIO()
    call_command("sync_plans_to_stripe", stdout=out)
    assert "[4/4]" in out.getvalue()
    plans = {p["plan_id"]: p for p in api_client.get("/api/v1/plans").json()}
    starter = plans["starter"]
    assert starter["stripe_price_id"].startswith("price_") and starter[
        "stripe_price_id_yearly"
    ].startswith("price_")
    monthly = stripe_client.v1.prices.list(params={"lookup_keys": ["starter_monthly"]}).data[0]
    assert monthly.id == starter["stripe_price_id"] and monthly.unit_amount == 2900
    assert monthly.recurring.interval == "month"
    yearly = stripe_client.v1.prices.retrieve(starter["stripe_price_id_yearly"])
    assert yearly.unit_amount == 29000 and yearly.lookup_key == "starter_yearly"

    again = StringIO()
    call_command("sync_plans_to_stripe", stdout=again)
    assert "up to date" in again.getvalue() and "created" not in again.getvalue()
    assert len(stripe_client.v1.products.list(params={"limit": 100}).data) == 4


def test_changed_price_creates_a_new_price_and_archives_the_old(catalog, stripe_client):
    from subscriptions.models import Plan
    from subscriptions.services.catalog import plan_sync_to_stripe

    plan = Plan.objects.get(code="starter")
    old_price = plan.stripe_price_id
    plan.price_monthly = 3900
    plan.save()
    changes = plan_sync_to_stripe(plan=plan)
    plan.refresh_from_db()
    assert plan.stripe_price_id != old_price and any("archived" in c for c in changes)
    assert stripe_client.v1.prices.retrieve(old_price).active is False
    new = stripe_client.v1.prices.list(params={"lookup_keys": ["starter_monthly"]}).data[0]
    assert new.id == plan.stripe_price_id and new.unit_amount == 3900
    assert (
        plan.stripe_price_id_yearly == catalog["starter"].stripe_price_id_yearly
    )  # unchanged yearly kept
