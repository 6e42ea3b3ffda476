"""Plan usage policy and metered overage: validation, the tiered metered prices in Stripe, the
metered item on subscriptions, and usage above the limit billed at the renewal, once."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from subscriptions.models import Plan
from tests.subscriptions.conftest import subscribe
from tests.usage.conftest import _usage_caches_clean, event  # noqa: F401 (autouse fixture)

pytestmark = pytest.mark.django_db


def _plan(**fields) -> Plan:
    base = {
        "code": "metered",
        "name": "Metered",
        "price_monthly": 1000,
        "price_yearly": 10000,
        "limits": {"api_calls": 5000, "users": None},
    }
    return Plan(**{**base, **fields})


def test_seed_plans_policy():
    plans = {p.code: p for p in Plan.objects.all()}
    assert sorted(plans["free"].hard_limits) == ["api_calls", "storage_gb", "users"]
    assert plans["starter"].hard_limits == [] and plans["starter"].alert_thresholds == [80, 100]
    for code in ("starter", "professional"):
        assert (
            plans[code].overage_resource,
            plans[code].overage_unit_amount,
            plans[code].overage_block_size,
        ) == ("api_calls", 200, 1000)
    assert not plans["free"].has_overage and not plans["enterprise"].has_overage


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"alert_thresholds": [100, 80]}, "alert_thresholds"),
        ({"alert_thresholds": [80, 80]}, "alert_thresholds"),
        ({"alert_thresholds": [0, 100]}, "alert_thresholds"),
        ({"alert_thresholds": [80, 1001]}, "alert_thresholds"),
        ({"alert_thresholds": [80.5]}, "alert_thresholds"),
        ({"hard_limits": ["storage_gb"]}, "hard_limits"),  # not a limited resource of the plan
        ({"hard_limits": "api_calls"}, "hard_limits"),
        (
            {"overage_resource": "users", "overage_unit_amount": 100},
            "overage_resource",
        ),  # unlimited
        (
            {"overage_resource": "storage_gb", "overage_unit_amount": 100},
            "overage_resource",
        ),  # not in limits
        (
            {
                "overage_resource": "api_calls",
                "overage_unit_amount": 100,
                "hard_limits": ["api_calls"],
            },
            "overage_resource",
        ),
        ({"overage_resource": "api_calls", "overage_unit_amount": 0}, "overage_unit_amount"),
        (
            {"overage_resource": "api_calls", "overage_unit_amount": 100, "overage_block_size": 0},
            "overage_block_size",
        ),
    ],
)
def test_plan_validation(fields, field):
    with pytest.raises(ValidationError) as exc:
        _plan(**fields).full_clean()
    assert field in exc.value.message_dict


def test_valid_plan_with_overage_and_thresholds():
    plan = _plan(
        overage_resource="api_calls",
        overage_unit_amount=150,
        overage_block_size=1000,
        alert_thresholds=[50, 100, 150],
        hard_limits=[],
    )
    plan.full_clean()
    assert plan.has_overage and plan.overage_limit == 5000


def _overage_price(stripe_client, lookup_key):
    return stripe_client.v1.prices.list(
        params={"lookup_keys": [lookup_key], "expand": ["data.tiers"]}
    ).data[0]


def test_sync_creates_tiered_metered_prices_idempotently(catalog, stripe_client):
    from subscriptions.services.catalog import plan_sync_to_stripe

    starter = catalog["starter"]
    monthly = _overage_price(stripe_client, "starter_overage_monthly")
    assert (
        monthly.id == starter.stripe_overage_price_id
        and monthly.product == starter.stripe_product_id
    )
    assert (monthly.billing_scheme, monthly.tiers_mode, monthly.recurring.usage_type) == (
        "tiered",
        "graduated",
        "metered",
    )
    meter = stripe_client.v1.billing.meters.retrieve(monthly.recurring.meter)
    assert meter.event_name == "api_calls" and meter.default_aggregation.formula == "sum"
    assert [(t.up_to, t.unit_amount_decimal) for t in monthly.tiers] == [
        (10000, Decimal("0")),
        (None, Decimal("0.2")),
    ]
    yearly = _overage_price(stripe_client, "starter_overage_yearly")
    assert (
        yearly.id == starter.stripe_overage_price_id_yearly and yearly.recurring.interval == "year"
    )
    assert yearly.tiers[0].up_to == 120000  # the yearly allowance is twelve monthly limits
    assert (
        catalog["professional"].stripe_overage_price_id
        and not catalog["free"].stripe_overage_price_id
    )
    assert not catalog["enterprise"].stripe_overage_price_id

    assert plan_sync_to_stripe(plan=Plan.objects.get(code="starter")) == []  # unchanged: nothing
    assert len(stripe_client.v1.billing.meters.list().data) == 1  # one meter for every plan

    # A new limit or amount: new prices take the lookup keys over, the old ones are archived.
    Plan.objects.filter(code="starter").update(
        limits={**starter.limits, "api_calls": 20000}, overage_unit_amount=300
    )
    changes = plan_sync_to_stripe(plan=Plan.objects.get(code="starter"))
    assert any("overage price" in c and "archived" in c for c in changes)
    new = _overage_price(stripe_client, "starter_overage_monthly")
    assert (
        new.id != monthly.id and new.id == Plan.objects.get(code="starter").stripe_overage_price_id
    )
    assert [(t.up_to, t.unit_amount_decimal) for t in new.tiers] == [
        (20000, Decimal("0")),
        (None, Decimal("0.3")),
    ]
    assert stripe_client.v1.prices.retrieve(monthly.id).active is False

    # No overage any more: the prices are archived and unlinked.
    Plan.objects.filter(code="starter").update(overage_resource="")
    plan_sync_to_stripe(plan=Plan.objects.get(code="starter"))
    plan = Plan.objects.get(code="starter")
    assert plan.stripe_overage_price_id == "" and plan.stripe_overage_price_id_yearly == ""
    assert stripe_client.v1.prices.retrieve(new.id).active is False


def _items(stripe_client, subscription_id):
    sub = stripe_client.v1.subscriptions.retrieve(subscription_id)
    return {
        ("metered" if i.price.recurring.usage_type == "metered" else "plan"): i
        for i in sub["items"].data
    }


def test_subscription_gets_the_metered_item_and_plan_changes_follow(
    catalog, owner_client, tenant, stripe_client
):
    from subscriptions.services.clocks import test_clock_advance

    body = subscribe(owner_client, plan_id="starter", payment_method="pm_card_visa")
    assert body["plan_id"] == "starter" and body["status"] == "active"
    items = _items(stripe_client, body["subscription_id"])
    assert items["plan"].price.id == catalog["starter"].stripe_price_id
    assert (
        items["metered"].price.id == catalog["starter"].stripe_overage_price_id
        and items["metered"].quantity is None
    )

    preview = owner_client.post(
        "/api/v1/subscriptions/current/preview", {"plan_id": "professional"}, format="json"
    )
    assert preview.status_code == 200 and preview.json()["next_invoice_total"] == "99.00"
    changed = owner_client.put(
        "/api/v1/subscriptions/current", {"plan_id": "professional"}, format="json"
    )
    assert changed.status_code == 200 and changed.json()["plan_id"] == "professional"
    items = _items(stripe_client, body["subscription_id"])
    assert (
        items["metered"].price.id == catalog["professional"].stripe_overage_price_id
    )  # swapped at once

    # Enterprise has no overage: the metered item goes with the upgrade.
    changed = owner_client.put(
        "/api/v1/subscriptions/current", {"plan_id": "enterprise"}, format="json"
    )
    assert changed.status_code == 200
    assert set(_items(stripe_client, body["subscription_id"])) == {"plan"}

    # A downgrade at period end: the overage item comes back after the renewal, not before.
    preview = owner_client.post(
        "/api/v1/subscriptions/current/preview", {"plan_id": "starter"}, format="json"
    )
    assert preview.status_code == 200 and preview.json()["effective"] == "period_end"
    changed = owner_client.put(
        "/api/v1/subscriptions/current", {"plan_id": "starter"}, format="json"
    ).json()
    assert changed["scheduled_change"]["plan_id"] == "starter"
    assert set(_items(stripe_client, body["subscription_id"])) == {"plan"}
    test_clock_advance(tenant=tenant, days=32)
    items = _items(stripe_client, body["subscription_id"])
    assert items["metered"].price.id == catalog["starter"].stripe_overage_price_id


def test_usage_above_the_limit_is_billed_at_renewal_once(
    catalog, owner_client, tenant, stripe_client
):
    from subscriptions.services.clocks import test_clock_advance
    from usage.services import usage_event_ingest, usage_meter_push

    body = subscribe(owner_client, plan_id="starter", payment_method="pm_card_visa")
    for quantity in ("9000", "3500"):
        usage_event_ingest(tenant=tenant, data=event(quantity=quantity))
    check = owner_client.get("/api/v1/entitlements/check?resource=api_calls&quantity=100").json()
    assert (
        check["allowed"] is True and check["limit"] == "10000" and check["used"] == "12500"
    )  # soft on starter
    [push] = usage_meter_push(tenant=tenant)
    assert push.pushed_quantity == 12500

    test_clock_advance(tenant=tenant, days=32)
    invoices = stripe_client.v1.invoices.list(params={"subscription": body["subscription_id"]}).data
    renewal = invoices[0]
    assert renewal.billing_reason == "subscription_cycle" and renewal.status == "paid"
    [usage_line] = [
        ln
        for ln in renewal.lines.data
        if ln.pricing.price_details.price == catalog["starter"].stripe_overage_price_id
    ]
    assert (
        usage_line.quantity == 12500 and usage_line.amount == 500
    )  # 2,500 above 10,000 at $2.00 / 1,000
    assert renewal.total == 2900 + 500

    assert usage_meter_push(tenant=tenant) == []  # nothing new: Stripe keeps 12,500
    again = stripe_client.v1.invoices.retrieve(renewal.id)
    assert again.total == renewal.total
    meter = next(
        m for m in stripe_client.v1.billing.meters.list().data if m.event_name == "api_calls"
    )
    account_items = _items(stripe_client, body["subscription_id"])
    summary = stripe_client.v1.billing.meters.event_summaries.list(
        meter.id,
        params={
            "customer": renewal.customer,
            "start_time": usage_line.period.start,
            "end_time": usage_line.period.end,
        },
    )
    assert summary.data[0].aggregated_value == 12500 and "metered" in account_items


def test_free_plan_is_hard_and_thresholds_come_from_the_plan(
    catalog, owner_client, tenant, django_capture_on_commit_callbacks
):
    from django_tenants.utils import tenant_context

    from notifications.models import BillingEvent
    from usage.services import usage_event_ingest

    Plan.objects.filter(code="free").update(alert_thresholds=[25, 100])
    with django_capture_on_commit_callbacks(execute=True):
        usage_event_ingest(tenant=tenant, data=event(quantity="300"))
    check = owner_client.get("/api/v1/entitlements/check?resource=api_calls&quantity=701").json()
    assert check["allowed"] is False and check["limit"] == "1000"  # free: hard
    with tenant_context(tenant):
        assert list(
            BillingEvent.objects.filter(kind__startswith="usage_").values_list(
                "data__threshold", flat=True
            )
        ) == [25]


def test_a_repriced_overage_is_grandfathered_until_the_plan_changes(
    catalog, owner_client, tenant, stripe_client
):
    from subscriptions.services.catalog import plan_sync_to_stripe
    from subscriptions.services.subscriptions import subscription_metered_item_sync

    body = subscribe(owner_client, plan_id="starter", payment_method="pm_card_visa")
    old_price = catalog["starter"].stripe_overage_price_id
    Plan.objects.filter(code="starter").update(overage_unit_amount=300)
    plan_sync_to_stripe(plan=Plan.objects.get(code="starter"))
    assert subscription_metered_item_sync(tenant=tenant) is False
    assert _items(stripe_client, body["subscription_id"])["metered"].price.id == old_price

    # A plan that drops its overage: the metered item goes on the next sync.
    Plan.objects.filter(code="starter").update(overage_resource="")
    plan_sync_to_stripe(plan=Plan.objects.get(code="starter"))
    assert subscription_metered_item_sync(tenant=tenant) is True
    assert set(_items(stripe_client, body["subscription_id"])) == {"plan"}
