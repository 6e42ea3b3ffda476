"""Hand-computed scenarios through the Stripe emulator, test clocks and the webhook endpoint:
every figure below is worked out by hand and asserted exactly."""

from datetime import date

from analytics import selectors
from analytics.models import MrrMovement
from subscriptions.services import clocks

from .conftest import subscribe


def _month(figures, month: date, currency: str = "usd"):
    return next(f for f in figures if f.month == month and f.currency == currency)


def test_monthly_and_yearly_subscribers(world, owner_client, other_client, tenant, other_tenant):
    subscribe(owner_client, plan_id="starter", payment_method="pm_card_visa")
    subscribe(
        other_client, plan_id="starter", billing_cycle="yearly", payment_method="pm_card_visa"
    )
    world.hooks.deliver()
    moves = {m.tenant_id: m for m in MrrMovement.objects.filter(kind="new")}
    assert moves[tenant.pk].delta == 2900 and moves[tenant.pk].day == date(2026, 1, 15)
    assert moves[other_tenant.pk].delta == 2417  # 290.00 / 12 = 24.1666... -> 24.17 (half up)
    jan = _month(
        selectors.monthly_figures(start=date(2026, 1, 1), end=date(2026, 1, 31)), date(2026, 1, 1)
    )
    assert (jan.mrr, jan.arr, jan.paying, jan.counts["new"]) == (5317, 63804, 2, 2)
    assert jan.arpa == 2659  # 53.17 / 2 = 26.585 -> 26.59


def _advance(world, tenant, days):
    clocks.test_clock_advance(tenant=tenant, days=days)
    world.hooks.deliver()


def _moves(tenant):
    return [
        (m.day, m.kind, m.delta)
        for m in MrrMovement.objects.filter(tenant=tenant).exclude(kind="status")
    ]


def test_upgrade_is_expansion_on_the_day_it_happens(world, owner_client, tenant):
    subscribe(owner_client, plan_id="starter", payment_method="pm_card_visa")
    world.hooks.deliver()
    _advance(world, tenant, 10)
    changed = owner_client.put(
        "/api/v1/subscriptions/current", {"plan_id": "professional"}, format="json"
    )
    assert changed.status_code == 200, changed.content
    world.hooks.deliver()
    assert _moves(tenant) == [
        (date(2026, 1, 15), "new", 2900),
        (date(2026, 1, 25), "expansion", 7000),
    ]
    jan = _month(
        selectors.monthly_figures(start=date(2026, 1, 1), end=date(2026, 1, 31)), date(2026, 1, 1)
    )
    assert (jan.mrr, jan.amounts["new"], jan.amounts["expansion"]) == (9900, 2900, 7000)


def test_downgrade_at_period_end_contracts_when_the_period_ends(world, owner_client, tenant):
    subscribe(owner_client, plan_id="professional", payment_method="pm_card_visa")
    world.hooks.deliver()
    owner_client.put("/api/v1/subscriptions/current", {"plan_id": "starter"}, format="json")
    world.hooks.deliver()
    assert _moves(tenant) == [(date(2026, 1, 15), "new", 9900)]  # still paying professional
    _advance(world, tenant, 32)
    assert _moves(tenant) == [
        (date(2026, 1, 15), "new", 9900),
        (date(2026, 2, 15), "contraction", -7000),
    ]
    figures = selectors.monthly_figures(start=date(2026, 1, 1), end=date(2026, 2, 28))
    feb = _month(figures, date(2026, 2, 1))
    assert (feb.mrr_start, feb.mrr, feb.contraction_mrr) == (9900, 2900, 7000)
    # 70.00 of 99.00 contracted: revenue churn 70.71 %, gross retention 29.29 %, net the same.
    assert str(feb.revenue_churn_rate) == "70.71"
    assert str(feb.gross_revenue_retention) == "29.29"
    assert str(feb.net_revenue_retention) == "29.29"
    assert feb.logo_churn_rate == 0


def test_cancellation_churns_in_the_month_it_ends_and_a_return_is_a_reactivation(
    world, owner_client, tenant
):
    subscribe(owner_client, plan_id="starter", payment_method="pm_card_visa")
    world.hooks.deliver()
    owner_client.put("/api/v1/subscriptions/current", {"cancel_at_period_end": True}, format="json")
    world.hooks.deliver()
    _advance(world, tenant, 5)
    assert _moves(tenant) == [(date(2026, 1, 15), "new", 2900)]  # paid until Feb 15
    _advance(world, tenant, 30)
    assert _moves(tenant)[-1] == (date(2026, 2, 15), "churn", -2900)
    figures = selectors.monthly_figures(start=date(2026, 1, 1), end=date(2026, 2, 28))
    jan, feb = _month(figures, date(2026, 1, 1)), _month(figures, date(2026, 2, 1))
    assert (jan.counts["churn"], feb.counts["churn"], feb.mrr, feb.paying) == (0, 1, 0, 0)
    assert str(feb.logo_churn_rate) == "100.00" and str(feb.revenue_churn_rate) == "100.00"
    drill = selectors.movement_list(month=date(2026, 2, 1), currency="usd", kind="churn")
    assert [m.tenant.slug for m in drill] == ["acme"]

    _advance(world, tenant, 6)  # Feb 25
    subscribe(owner_client, plan_id="starter", payment_method="pm_card_visa")
    world.hooks.deliver()
    assert _moves(tenant)[-1] == (date(2026, 2, 25), "reactivation", 2900)
    feb = _month(
        selectors.monthly_figures(start=date(2026, 2, 1), end=date(2026, 2, 28)), date(2026, 2, 1)
    )
    assert (feb.mrr, feb.paying, feb.counts["reactivation"], feb.counts["new"]) == (2900, 1, 1, 0)
    counts = selectors.status_counts(as_of=date(2026, 2, 28))
    assert counts["usd"]["active"] == 1 and counts["usd"]["canceled"] == 0


def test_forever_coupon_reduces_mrr_and_a_once_coupon_does_not(
    world, owner_client, other_client, tenant, other_tenant
):
    from coupons.services import coupon_create

    coupon_create(code="FOREVER20", name="20% forever", percent_off=20, duration="forever")
    coupon_create(code="ONCE20", name="20% once", percent_off=20, duration="once")
    subscribe(owner_client, plan_id="starter", payment_method="pm_card_visa", coupon="FOREVER20")
    subscribe(other_client, plan_id="starter", payment_method="pm_card_visa", coupon="ONCE20")
    world.hooks.deliver()
    assert _moves(tenant) == [(date(2026, 1, 15), "new", 2320)]  # 29.00 x 80 %
    assert _moves(other_tenant) == [(date(2026, 1, 15), "new", 2900)]
    _advance(world, other_tenant, 32)  # the once coupon was spent on the first invoice
    assert _moves(other_tenant) == [(date(2026, 1, 15), "new", 2900)]


def test_failed_payment_recovered_by_dunning(world, owner_client, tenant, stripe_client):
    from subscriptions.models import BillingAccount

    subscribe(owner_client, plan_id="starter", payment_method="pm_card_visa")
    world.hooks.deliver()
    customer = BillingAccount.objects.get(tenant=tenant).stripe_customer_id

    def set_card(card):
        pm = stripe_client.v1.payment_methods.attach(card, params={"customer": customer})
        stripe_client.v1.customers.update(
            customer, params={"invoice_settings": {"default_payment_method": pm.id}}
        )
        world.hooks.deliver()

    set_card("pm_card_chargeCustomerFail")
    _advance(world, tenant, 31)  # Feb 15 renewal fails: past_due, still MRR
    feb = _month(
        selectors.monthly_figures(start=date(2026, 2, 1), end=date(2026, 2, 28)), date(2026, 2, 1)
    )
    assert (feb.failed_invoices, feb.recovered_invoices, feb.recovery_rate) == (1, 0, 0)
    assert feb.mrr == 2900
    ageing = selectors.receivables(as_of=date(2026, 2, 16))
    assert ageing["usd"]["1-30"] == {"amount": 2900, "count": 1}
    set_card("pm_card_visa")  # a new default card: the dunning retries at once and is paid
    world.hooks.deliver()  # the events of that retry
    feb = _month(
        selectors.monthly_figures(start=date(2026, 2, 1), end=date(2026, 2, 28)), date(2026, 2, 1)
    )
    assert (feb.failed_invoices, feb.recovered_invoices, str(feb.recovery_rate)) == (1, 1, "100.00")
    assert feb.cash_collected == 2900
    assert selectors.receivables(as_of=date(2026, 2, 16)) == {}


def test_two_currencies_are_kept_apart(world, owner_client, other_client):
    from subscriptions.models import Plan
    from subscriptions.services.catalog import plan_sync_to_stripe

    euro = Plan.objects.create(
        code="starter-eur",
        name="Starter EUR",
        currency="eur",
        price_monthly=2500,
        price_yearly=25000,
    )
    plan_sync_to_stripe(plan=euro)
    subscribe(owner_client, plan_id="starter", payment_method="pm_card_visa")
    subscribe(other_client, plan_id="starter-eur", payment_method="pm_card_visa")
    world.hooks.deliver()
    figures = selectors.monthly_figures(start=date(2026, 1, 1), end=date(2026, 1, 31))
    assert {(f.currency, f.mrr, f.paying) for f in figures} == {("eur", 2500, 1), ("usd", 2900, 1)}
    only_eur = selectors.monthly_figures(
        start=date(2026, 1, 1), end=date(2026, 1, 31), currency="eur"
    )
    assert [(f.currency, f.mrr) for f in only_eur] == [("eur", 2500)]


def test_backfill_rebuilds_the_same_facts_from_the_local_mirror(world, owner_client, tenant):
    import io

    from django.core.management import call_command

    from analytics.models import InvoiceFact, SubscriptionFact

    subscribe(owner_client, plan_id="starter", payment_method="pm_card_visa")
    world.hooks.deliver()
    _advance(world, tenant, 10)
    owner_client.put("/api/v1/subscriptions/current", {"plan_id": "professional"}, format="json")
    world.hooks.deliver()
    live_moves = _moves(tenant)
    live_invoices = sorted(InvoiceFact.objects.values_list("invoice_id", "status", "amount_paid"))
    assert live_moves == [(date(2026, 1, 15), "new", 2900), (date(2026, 1, 25), "expansion", 7000)]
    MrrMovement.objects.all().delete()
    InvoiceFact.objects.all().delete()
    SubscriptionFact.objects.all().delete()
    out = io.StringIO()
    call_command("analytics_backfill", stdout=out)
    assert "Rebuilt" in out.getvalue()
    assert _moves(tenant) == live_moves
    assert sorted(InvoiceFact.objects.values_list("invoice_id", "status", "amount_paid")) == (
        live_invoices
    )
