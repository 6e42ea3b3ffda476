"""The business series of /metrics (billing_project/business_metrics.py): payments, notifications and the
subscription gauges, counted in Redis by whichever process sees them and scraped from web without a
database query."""

from decimal import Decimal
from types import SimpleNamespace

import pytest
import redis
from django.db import connection
from django_tenants.utils import tenant_context
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from billing_project import business_metrics
from tests.invoicing.conftest import billing, celery_eager, media, stripe_on  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def business_series_clean():
    from billing_project.redis import get_redis

    # The run's own key prefix keeps other runs out; this keeps each test's counts its own.
    keys = [
        business_metrics.series_key(name)
        for name in (*business_metrics.COUNTERS, *business_metrics.GAUGES)
    ]
    get_redis().delete(*keys)
    yield
    get_redis().delete(*keys)


@pytest.fixture
def redis_down(monkeypatch):
    # Nothing listens on port 1: every command fails at once with a connection error.
    down = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=1, socket_timeout=1)
    monkeypatch.setattr(business_metrics, "get_redis", lambda: down)


def payments(status):
    return (
        REGISTRY.get_sample_value("billing_payments_total", {"status": status, "currency": "usd"})
        or 0
    )


def scrape(client) -> dict[str, dict[tuple, float]]:
    """{sample name: {sorted label items: value}} of a GET /metrics."""
    response = client.get("/metrics")
    assert response.status_code == 200
    samples: dict[str, dict[tuple, float]] = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return samples


def test_a_payment_attempt_is_counted_once_by_outcome_even_when_its_webhooks_come_again(
    billing,  # noqa: F811 (a pytest fixture imported above)
    tenant,
):
    billing.subscribe(tenant)  # the first invoice, paid with a good card
    assert (payments("succeeded"), payments("failed")) == (1, 0)

    account = billing.customer(tenant, card=None)
    billing.set_card(account.stripe_customer_id, "pm_card_chargeCustomerFail")
    billing.advance(tenant, days=31)  # the renewal is declined
    assert (payments("succeeded"), payments("failed")) == (1, 1)

    # Stripe delivers every invoice event again (invoice.paid, invoice.payment_failed, ...).
    from subscriptions.services.webhooks import webhook_handle

    replayed = [
        e
        for e in billing.stripe.v1.events.list(params={"limit": 100}).data
        if e.type.startswith("invoice.")
    ]
    assert {"invoice.paid", "invoice.payment_failed"} <= {e.type for e in replayed}
    for event in replayed:
        with billing.capture(execute=True):
            webhook_handle(payload=event.to_dict(), apps={"invoicing"})
    assert (payments("succeeded"), payments("failed")) == (1, 1)
    from invoicing.models import PaymentAttempt

    with tenant_context(tenant):
        assert sorted(PaymentAttempt.objects.values_list("outcome", flat=True)) == [
            "failed",
            "succeeded",
        ]


def test_a_retry_paid_with_a_new_card_counts_as_one_more_success(billing, tenant):  # noqa: F811 (a pytest fixture imported above)
    billing.subscribe(tenant)
    account = billing.customer(tenant, card=None)
    billing.set_card(account.stripe_customer_id, "pm_card_chargeCustomerFail")
    billing.advance(tenant, days=31)
    billing.set_card(account.stripe_customer_id, "pm_card_visa")  # customer.updated -> paid at once
    assert (payments("succeeded"), payments("failed")) == (2, 1)


@pytest.fixture
def accounts(db):
    """Billing accounts of every status the gauges tell apart (tenants without schemas: only the public
    rows matter here)."""
    from subscriptions.models import BillingAccount, Plan
    from tenants.models import Tenant

    BillingAccount.objects.all().delete()
    Plan.objects.create(
        code="euro-pro", name="Euro Pro", currency="eur", price_monthly=5000, price_yearly=50000
    )
    rows = [  # status, plan, cycle
        ("active", "starter", "monthly"),
        ("active", "starter", "monthly"),
        ("active", "starter", "yearly"),
        ("active", "professional", "yearly"),
        ("past_due", "starter", "monthly"),
        ("trialing", "professional", "monthly"),
        ("canceled", "enterprise", "monthly"),
        ("active", "euro-pro", "yearly"),
        ("", None, ""),
    ]
    for n, (status, plan, cycle) in enumerate(rows):
        tenant = Tenant.objects.create(
            name=f"Metrics {n}",
            slug=f"metrics-{n}",
            schema_name=f"metrics_{n}",
            email=f"billing@metrics{n}.test",
        )
        BillingAccount.objects.create(
            tenant=tenant,
            stripe_customer_id=f"cus_m{n}",
            subscription_id=f"sub_m{n}" if status else "",
            status=status,
            plan=Plan.objects.get(code=plan) if plan else None,
            billing_cycle=cycle,
        )


EXPECTED_SUBSCRIPTIONS = {
    ("active", "starter"): 3,
    ("active", "professional"): 1,
    ("past_due", "starter"): 1,
    ("trialing", "professional"): 1,
    ("canceled", "enterprise"): 1,
    ("active", "euro-pro"): 1,
}
# usd: 2 x 29.00 + 290.00 / 12 + 990.00 / 12 + 29.00 (past_due) = 193.666... (rounded once, at the end);
# eur: 500.00 / 12 = 41.666...; trialing and canceled pay nothing.
EXPECTED_MRR = {("usd",): Decimal("193.67"), ("eur",): Decimal("41.67")}


def test_the_beat_task_snapshots_subscriptions_by_status_and_plan_and_the_mrr(accounts):
    from subscriptions.metrics import subscription_metrics_compute
    from subscriptions.tasks import subscription_metrics_refresh

    assert subscription_metrics_compute() == {
        "billing_subscriptions_total": EXPECTED_SUBSCRIPTIONS,
        "billing_monthly_revenue_dollars": EXPECTED_MRR,
    }
    subscription_metrics_refresh()
    for (status, plan_id), count in EXPECTED_SUBSCRIPTIONS.items():
        assert (
            REGISTRY.get_sample_value(
                "billing_subscriptions_total", {"status": status, "plan_id": plan_id}
            )
            == count
        )
    assert (
        REGISTRY.get_sample_value("billing_monthly_revenue_dollars", {"currency": "usd"}) == 193.67
    )
    assert (
        REGISTRY.get_sample_value("billing_monthly_revenue_dollars", {"currency": "eur"}) == 41.67
    )

    # The next snapshot replaces the whole series: a combination that is gone is not reported any more.
    from subscriptions.models import BillingAccount

    BillingAccount.objects.filter(status="canceled").delete()
    subscription_metrics_refresh()
    assert (
        REGISTRY.get_sample_value(
            "billing_subscriptions_total", {"status": "canceled", "plan_id": "enterprise"}
        )
        is None
    )


def test_metrics_serves_the_business_series_without_a_database_query(
    accounts, api_client, django_assert_num_queries, django_capture_on_commit_callbacks
):
    from invoicing.metrics import payment_attempt_count
    from notifications.metrics import notification_outcome_count
    from subscriptions.metrics import subscription_metrics_refresh

    subscription_metrics_refresh()
    with django_capture_on_commit_callbacks(execute=True):
        payment_attempt_count(status="failed", currency="USD")
    notification_outcome_count(channel="email", kind="payment_failed", status="sent")

    with django_assert_num_queries(0):
        samples = scrape(api_client)
    assert samples["billing_payments_total"] == {(("currency", "usd"), ("status", "failed")): 1}
    assert samples["billing_notifications_total"] == {
        (("channel", "email"), ("kind", "payment_failed"), ("status", "sent")): 1
    }
    assert (
        samples["billing_subscriptions_total"][(("plan_id", "starter"), ("status", "active"))] == 3
    )
    assert samples["billing_monthly_revenue_dollars"] == {
        (("currency", "eur"),): 41.67,
        (("currency", "usd"),): 193.67,
    }


def test_a_rolled_back_payment_is_not_counted(django_capture_on_commit_callbacks):
    from django.db import transaction

    from invoicing.metrics import payment_attempt_count

    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError), transaction.atomic():
            payment_attempt_count(status="failed", currency="usd")
            raise RuntimeError("the attempt's transaction fails")
    assert payments("failed") == 0


def test_metrics_of_every_gunicorn_worker_include_the_business_series(
    api_client, monkeypatch, tmp_path
):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    business_metrics.business_counter_inc(
        "billing_payments_total", {"status": "succeeded", "currency": "usd"}, 2
    )
    assert scrape(api_client)["billing_payments_total"] == {
        (("currency", "usd"), ("status", "succeeded")): 2
    }


def test_with_redis_down_counting_goes_on_and_metrics_answer_without_the_business_series(
    api_client, redis_down
):
    business_metrics.business_counter_inc(
        "billing_payments_total", {"status": "failed", "currency": "usd"}
    )
    business_metrics.business_gauges_store(
        {"billing_monthly_revenue_dollars": {("usd",): Decimal("1.00")}}
    )
    samples = scrape(api_client)
    assert not any(
        name.startswith(
            (
                "billing_payments",
                "billing_notifications",
                "billing_subscriptions",
                "billing_monthly_revenue",
            )
        )
        for name in samples
    )


def test_unknown_labels_are_a_programming_error():
    with pytest.raises(ValueError):
        business_metrics.business_counter_inc(
            "billing_payments_total", {"status": "failed", "tenant": "acme"}
        )


def test_beat_refreshes_the_gauges_every_minute_once_from_the_public_schema():
    from billing_project.beat import BillingBeatScheduler
    from billing_project.celery import app

    entry = app.conf.beat_schedule["subscriptions-metrics-refresh"]
    assert (
        entry["task"] == "subscriptions.tasks.subscription_metrics_refresh"
        and entry["schedule"] == 60.0
    )
    assert entry["tenant_schemas"] == ["public"]
    assert entry["task"] in app.tasks

    # No Tenant row stands for public, so tenant-schemas-celery alone would never send the entry.
    from celery.schedules import schedule

    sent = []
    scheduler = SimpleNamespace(
        apply_async=lambda entry, producer=None, advance=True: sent.append(
            (entry.name, connection.schema_name)
        ),
        _sent_at={},  # what this process last sent, and when (one send per period)
    )
    public_entry = SimpleNamespace(
        name="subscriptions-metrics-refresh@public",
        task="subscriptions.tasks.subscription_metrics_refresh",
        options={"headers": {"_schema_name": "public"}},
        schedule=schedule(entry["schedule"]),
    )
    BillingBeatScheduler.apply_entry(scheduler, public_entry)
    assert sent == [("subscriptions-metrics-refresh@public", "public")]
