"""Tiered and transformed prices: creation rules, `tiers` only when expanded, and the amounts of
metered usage lines at period end (graduated: an allowance at 0, then a fractional unit amount)."""

from decimal import Decimal

import pytest
import stripe

from .helpers import DAY, T0, advance, customer_with_card, recurring_price

ALLOWANCE_THEN_0_2 = [
    {"up_to": 10000, "unit_amount": 0},
    {"up_to": "inf", "unit_amount_decimal": "0.2"},
]


def _metered(client, event_name="api_calls", **price):
    meter = client.v1.billing.meters.create(
        params={
            "display_name": event_name,
            "event_name": event_name,
            "default_aggregation": {"formula": "sum"},
        }
    )
    product = client.v1.products.create(params={"name": "API calls above the limit"})
    return meter, client.v1.prices.create(
        params={
            "product": product.id,
            "currency": "usd",
            "recurring": {"interval": "month", "usage_type": "metered", "meter": meter.id},
            **price,
        }
    )


def test_tiered_price_shape_and_tiers_only_when_expanded(stripe_client, stripe_emulator_fresh):
    _meter, price = _metered(
        stripe_client,
        billing_scheme="tiered",
        tiers_mode="graduated",
        tiers=ALLOWANCE_THEN_0_2,
        lookup_key="starter_overage_monthly",
    )
    assert (
        price.billing_scheme,
        price.tiers_mode,
        price.unit_amount,
        price.unit_amount_decimal,
    ) == ("tiered", "graduated", None, None)
    assert "tiers" not in price
    expanded = stripe_client.v1.prices.retrieve(price.id, params={"expand": ["tiers"]})
    assert [dict(t) for t in expanded.tiers] == [
        {
            "flat_amount": None,
            "flat_amount_decimal": None,
            "unit_amount": 0,
            "unit_amount_decimal": Decimal("0"),
            "up_to": 10000,
        },
        {
            "flat_amount": None,
            "flat_amount_decimal": None,
            "unit_amount": None,
            "unit_amount_decimal": Decimal("0.2"),
            "up_to": None,
        },
    ]
    listed = stripe_client.v1.prices.list(
        params={"lookup_keys": ["starter_overage_monthly"], "expand": ["data.tiers"]}
    ).data[0]
    assert listed.tiers[1].unit_amount_decimal == Decimal("0.2")


@pytest.mark.parametrize(
    "params, param",
    [
        ({"billing_scheme": "tiered", "tiers": ALLOWANCE_THEN_0_2}, "tiers_mode"),
        (
            {
                "billing_scheme": "tiered",
                "tiers_mode": "graduated",
                "unit_amount": 5,
                "tiers": ALLOWANCE_THEN_0_2,
            },
            "unit_amount",
        ),
        (
            {
                "billing_scheme": "tiered",
                "tiers_mode": "graduated",
                "tiers": [{"up_to": 100, "unit_amount": 0}],
            },
            "tiers[0][up_to]",
        ),  # no inf tier
        (
            {
                "billing_scheme": "tiered",
                "tiers_mode": "graduated",
                "tiers": [
                    {"up_to": 100, "unit_amount": 0},
                    {"up_to": 50, "unit_amount": 1},
                    {"up_to": "inf", "unit_amount": 1},
                ],
            },
            "tiers[1][up_to]",
        ),
        ({"unit_amount": 5, "unit_amount_decimal": "5"}, "unit_amount"),
        (
            {"unit_amount": 5, "transform_quantity": {"divide_by": 0, "round": "up"}},
            "transform_quantity[divide_by]",
        ),
    ],
)
def test_invalid_tiered_or_transformed_prices_are_refused(
    stripe_client, stripe_emulator_fresh, params, param
):
    with pytest.raises(stripe.InvalidRequestError) as exc:
        _metered(stripe_client, **params)
    assert exc.value.param == param


def _bill(client, price, usage):
    """A customer on a test clock subscribed to `price`, `usage` reported, one period later: the
    renewal invoice's usage line for the first period."""
    clock = client.v1.test_helpers.test_clocks.create(params={"frozen_time": T0})
    customer, _ = customer_with_card(client, clock=clock.id)
    sub = client.v1.subscriptions.create(
        params={"customer": customer.id, "items": [{"price": price.id}]}
    )
    assert sub["items"].data[0].quantity is None
    for i, value in enumerate(usage):
        client.v1.billing.meter_events.create(
            params={
                "event_name": "api_calls",
                "identifier": f"u-{i}",
                "timestamp": T0 + DAY * (i + 1),
                "payload": {"stripe_customer_id": customer.id, "value": str(value)},
            }
        )
    advance(client, clock.id, T0 + 31 * DAY + 60)
    invoice = client.v1.invoices.list(params={"subscription": sub.id}).data[0]
    [line] = [ln for ln in invoice.lines.data if ln.period.end == T0 + 31 * DAY]
    return invoice, line


@pytest.mark.parametrize(
    "usage, amount",
    [
        ((9000,), 0),  # within the allowance
        ((10000,), 0),  # exactly the limit
        ((6000, 6500), 500),  # 12,500: 2,500 above at 0.2 = 500
        ((10001,), 0),  # 0.2 rounds half-up to 0
        ((10003,), 1),  # 0.6 -> 1
        ((10002, 1, 1), 1),  # 10,004: 0.8 -> 1
    ],
)
def test_graduated_usage_line_amount(stripe_client, stripe_emulator_fresh, usage, amount):
    _meter, price = _metered(
        stripe_client, billing_scheme="tiered", tiers_mode="graduated", tiers=ALLOWANCE_THEN_0_2
    )
    invoice, line = _bill(stripe_client, price, usage)
    assert line.amount == amount and line.quantity == sum(usage)
    assert invoice.billing_reason == "subscription_cycle" and invoice.total == amount


def test_volume_tiers_and_flat_amounts(stripe_client, stripe_emulator_fresh):
    _meter, price = _metered(
        stripe_client,
        billing_scheme="tiered",
        tiers_mode="volume",
        tiers=[
            {"up_to": 100, "unit_amount": 10},
            {"up_to": "inf", "unit_amount": 5, "flat_amount": 300},
        ],
    )
    _invoice, line = _bill(stripe_client, price, (150,))
    assert line.amount == 150 * 5 + 300  # every unit at the tier the total reaches


def test_transform_quantity_rounds_blocks(stripe_client, stripe_emulator_fresh):
    _meter, price = _metered(
        stripe_client, unit_amount=200, transform_quantity={"divide_by": 1000, "round": "up"}
    )
    assert price.transform_quantity.divide_by == 1000 and price.transform_quantity.round == "up"
    _invoice, line = _bill(stripe_client, price, (2001,))
    assert line.amount == 600  # three started blocks of 1,000


def test_licensed_prices_with_a_fractional_decimal_amount(stripe_client, stripe_emulator_fresh):
    price = recurring_price(stripe_client, amount=None, unit_amount_decimal="1000.5")
    assert price.unit_amount is None and price.unit_amount_decimal == Decimal("1000.5")
    customer, _ = customer_with_card(stripe_client)
    sub = stripe_client.v1.subscriptions.create(
        params={"customer": customer.id, "items": [{"price": price.id, "quantity": 3}]}
    )
    assert (
        stripe_client.v1.invoices.retrieve(sub.latest_invoice).amount_paid == 3002
    )  # 3001.5 half-up
