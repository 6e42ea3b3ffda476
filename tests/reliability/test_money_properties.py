"""Money properties (hypothesis), beyond tests/invoicing/test_money.py (lines - percent coupons + tax
through the API, usd and jpy):

- conversions: major <-> minor units round-trip in two-, zero- (JPY) and three-decimal (KWD, BHD)
  currencies; the API never shows more decimals than the currency has;
- invoices, through Stripe (the emulator), our mirror and the API, in USD, JPY and KWD: total = sum of
  lines - discounts, with amount-off coupons spread over several lines (never more than a line's
  amount, never more than the coupon), customer credit balance and pre-payment credit notes:
  amount due = total - credit applied - credit notes, to the minor unit;
- proration (the emulator's `prorate`, which Stripe's previews and our plan-change page show): each
  line is the exact share rounded half up (Stripe rounds each proration line on its own), so credit +
  debit is within one minor unit of (new - old) x unused fraction; changing and changing back at the
  same second nets exactly zero; splitting the unused time at any second moves at most one minor
  unit per extra line, never more.

Every property is derandomized (the same examples on every run) with a small max_examples.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing_project import money
from tests.invoicing.conftest import billing, celery_eager, media, stripe_on  # noqa: F401  (Stripe world)

FAST = settings(derandomize=True, max_examples=200, deadline=None)
# Each example of the invoice property drives Stripe (the emulator) and the API: a few dozen suffice.
STRIPE = settings(
    derandomize=True, max_examples=12, deadline=None, suppress_health_check=list(HealthCheck)
)

CURRENCIES = ["usd", "eur", "jpy", "krw", "kwd", "bhd"]


# --- conversions --------------------------------------------------------------------------------


@FAST
@given(
    currency=st.sampled_from(CURRENCIES), minor=st.integers(min_value=-(10**15), max_value=10**15)
)
def test_minor_to_major_and_back_is_exact(currency, minor):
    major = money.to_major(minor, currency)
    places = money.exponent(currency)
    assert len(major.partition(".")[2]) == places  # "29.00", "2900", "1.234"
    assert money.to_minor(major, currency) == minor


@FAST
@given(
    currency=st.sampled_from(CURRENCIES),
    value=st.decimals(
        min_value=-(10**9), max_value=10**9, places=5, allow_nan=False, allow_infinity=False
    ),
)
def test_major_to_minor_rounds_half_up_to_the_currency_unit(currency, value):
    places = money.exponent(currency)
    minor = money.to_minor(str(value), currency)
    exact = value.scaleb(places)
    assert abs(Decimal(minor) - exact) <= Decimal("0.5")
    assert minor == int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def test_three_decimal_currencies_are_supported():
    assert money.to_major(1234, "kwd") == "1.234" and money.to_minor("1.234", "bhd") == 1234
    assert money.to_major(1234, "jpy") == "1234"


# --- invoices through Stripe, the mirror and the API ---------------------------------------------


def _lines_strategy(currency):
    # Amounts per currency's minor unit: up to 20,000.00 USD, 2,000,000 JPY, 2,000.000 KWD.
    top = {"usd": 2_000_000, "jpy": 2_000_000, "kwd": 2_000_000}[currency]
    return st.lists(st.integers(min_value=1, max_value=top), min_size=1, max_size=4)


@pytest.mark.parametrize("currency", ["usd", "jpy", "kwd"])
@STRIPE
@given(data=st.data())
def test_invoice_total_and_due_after_discounts_and_credits(
    billing,  # noqa: F811 (a pytest fixture imported above)
    tenant,
    owner_client,
    currency,
    data,
):
    from invoicing.services.common import mirror_invoice

    amounts = data.draw(_lines_strategy(currency), label="lines")
    coupon = data.draw(
        st.one_of(
            st.none(),
            st.tuples(st.just("percent_off"), st.sampled_from([5, 12.5, 33, 100])),
            st.tuples(st.just("amount_off"), st.integers(min_value=1, max_value=3 * max(amounts))),
        ),
        label="coupon",
    )
    credit = data.draw(st.integers(min_value=0, max_value=sum(amounts)), label="customer credit")
    note_share = data.draw(st.sampled_from([0, 1, 2, 3]), label="credit note quarters of the due")

    stripe = billing.stripe
    account = billing.customer(tenant, card=None)
    customer = account.stripe_customer_id
    if credit:
        # A credit balance (negative = the customer's credit), applied by Stripe when the invoice is finalized.
        stripe.v1.customers.balance_transactions.create(
            customer, params={"amount": -credit, "currency": currency}
        )
    for index, amount in enumerate(amounts):
        stripe.v1.invoice_items.create(
            params={
                "customer": customer,
                "amount": amount,
                "currency": currency,
                "description": f"item {index}",
            }
        )
    params = {
        "customer": customer,
        "currency": currency,
        "pending_invoice_items_behavior": "include",
        "collection_method": "send_invoice",
        "days_until_due": 30,
    }
    if coupon:
        kind, value = coupon
        extra = {"currency": currency} if kind == "amount_off" else {}
        params["discounts"] = [
            {
                "coupon": stripe.v1.coupons.create(
                    params={kind: value, "duration": "once", **extra}
                ).id
            }
        ]
    # Examples share the customer: credit left over from an earlier example counts too.
    balance = stripe.v1.customers.retrieve(customer).balance
    final = stripe.v1.invoices.finalize_invoice(stripe.v1.invoices.create(params=params).id)
    note_total = final.amount_due * note_share // 4
    if note_total and final.status == "open":
        stripe.v1.credit_notes.create(params={"invoice": final.id, "amount": note_total})
        final = stripe.v1.invoices.retrieve(final.id)
    else:
        note_total = 0
    mirror_invoice(final)

    detail = owner_client.get(f"/api/v1/invoices/{final.id}").json()
    minor = {
        key: money.to_minor(detail[key], currency)
        for key in (
            "subtotal",
            "discount",
            "tax",
            "total",
            "amount_due",
            "amount_paid",
            "amount_remaining",
        )
    }
    places = money.exponent(currency)
    assert all(len(detail[key].lstrip("-").partition(".")[2]) == places for key in minor)
    charges = [
        money.to_minor(line["amount"], currency)
        for line in detail["lines"]
        if line["kind"] != "discount"
    ]
    discounts = [
        -money.to_minor(line["amount"], currency)
        for line in detail["lines"]
        if line["kind"] == "discount"
    ]

    assert sorted(charges) == sorted(amounts) and minor["subtotal"] == sum(amounts)
    assert minor["discount"] == sum(discounts) and minor["tax"] == 0
    assert minor["total"] == minor["subtotal"] - minor["discount"] == final.total
    if coupon is None:
        assert minor["discount"] == 0
    elif coupon[0] == "amount_off":
        # Spread over the lines, never more than the coupon nor than what is billed.
        assert minor["discount"] == min(coupon[1], sum(amounts))
    else:
        exact = [Decimal(a) * Decimal(str(coupon[1])) / 100 for a in amounts]
        # Rounded per line (as Stripe does): within half a unit per line of the exact percentage.
        assert abs(minor["discount"] - sum(exact)) <= Decimal(len(amounts)) / 2
    for line in final.lines.data:  # no line is discounted below zero
        assert sum(d["amount"] for d in line.discount_amounts) <= line.amount
    applied = min(max(-balance, 0), max(minor["total"], 0))
    assert minor["amount_due"] == max(minor["total"], 0) - applied - note_total
    assert minor["amount_paid"] + minor["amount_remaining"] == minor["amount_due"]
    if minor["amount_due"] == 0:
        assert detail["status"] == "paid"


# --- proration (the emulator's arithmetic, which previews and invoices show) ----------------------


class _State:
    """What `prorate` reads when it writes onto a preview invoice: product names only."""

    def find(self, object_id, kind):
        return None


def _price(unit_amount: int, price_id: str) -> dict:
    return {
        "id": price_id,
        "product": f"prod_{price_id}",
        "billing_scheme": "per_unit",
        "transform_quantity": None,
        "unit_amount": unit_amount,
        "unit_amount_decimal": str(unit_amount),
    }


def _prorations(changes, start, end, at):
    """The proration lines (amounts, minor units) for `changes` at second `at` of [start, end)."""
    from stripe_emulator.cycles import prorate

    invoice = {"id": "upcoming_in_test", "currency": "usd", "_preview": True, "_lines": []}
    item = {"id": "si_test", "current_period_start": start, "current_period_end": end}
    prorate(
        _State(),
        {"id": "sub_test", "customer": "cus_test"},
        [(item, old, old_qty, new, new_qty) for old, old_qty, new, new_qty in changes],
        at,
        preview_invoice=invoice,
    )
    return [line["amount"] for line in invoice["_lines"]]


PERIOD = st.integers(min_value=1, max_value=366 * 86400)  # a period of one second to a leap year
PRICE = st.integers(min_value=0, max_value=10_000_000)
QTY = st.integers(min_value=1, max_value=50)


def _half_up(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@FAST
@given(
    period=PERIOD,
    offset=st.floats(min_value=0, max_value=1, allow_nan=False),
    old=PRICE,
    new=PRICE,
    old_qty=QTY,
    new_qty=QTY,
)
def test_proration_lines_are_the_unused_fraction_rounded_half_up(
    period, offset, old, new, old_qty, new_qty
):
    start = 1_780_000_000
    at = start + min(int(period * offset), period - 1)  # a change inside the period, to the second
    lines = _prorations(
        [(_price(old, "old"), old_qty, _price(new, "new"), new_qty)], start, start + period, at
    )
    fraction = Decimal(start + period - at) / Decimal(period)
    credit, debit = -_half_up(old * old_qty * fraction), _half_up(new * new_qty * fraction)
    assert lines == [credit, debit]
    # Two lines, each rounded on its own: the net is within one minor unit of the exact difference.
    assert abs(sum(lines) - (new * new_qty - old * old_qty) * fraction) <= 1


@FAST
@given(
    period=PERIOD,
    offset=st.floats(min_value=0, max_value=1, allow_nan=False),
    old=PRICE,
    new=PRICE,
    qty=QTY,
)
def test_changing_and_changing_back_at_the_same_second_nets_zero(period, offset, old, new, qty):
    start = 1_780_000_000
    at = start + min(int(period * offset), period - 1)
    a, b = _price(old, "a"), _price(new, "b")
    there = _prorations([(a, qty, b, qty)], start, start + period, at)
    back = _prorations([(b, qty, a, qty)], start, start + period, at)
    assert sum(there) + sum(back) == 0


@FAST
@given(
    period=st.integers(min_value=2, max_value=366 * 86400),
    cuts=st.lists(st.floats(0, 1), min_size=1, max_size=4),
    amount=PRICE,
    qty=QTY,
)
def test_splitting_the_unused_time_moves_at_most_one_unit_per_extra_part(period, cuts, amount, qty):
    """The charge for the remaining time at `start`, cut at any seconds into parts charged separately
    (a new-price line from each cut to the next): the parts sum to the whole within one minor unit
    per extra part, and never drift further whatever the number of parts."""
    start, end = 1_780_000_000, 1_780_000_000 + period
    seconds = sorted({start + int(period * c) for c in cuts} | {start})
    seconds = [s for s in seconds if s < end]
    price = _price(amount, "p")
    # Remaining time from s: round(P x (end - s) / period); the part [s, t) is the difference of two
    # such charges, which is how a change at s and one back at t bill it.
    remaining = [
        _prorations([(None, 0, price, qty)], start, end, s)[0] if amount else 0 for s in seconds
    ]
    parts = [remaining[i] - remaining[i + 1] for i in range(len(remaining) - 1)] + [remaining[-1]]
    whole = amount * qty
    assert (
        sum(parts) == remaining[0]
    )  # telescoping: the parts are exactly the remaining charge at start
    assert (
        remaining[0] == whole
    )  # at the period's first second, the remaining charge is the whole price
    exact = [
        Decimal(whole) * (b - a) / period for a, b in zip(seconds, seconds[1:] + [end], strict=True)
    ]
    assert all(abs(part - share) <= 1 for part, share in zip(parts, exact, strict=True))


@FAST
@given(
    period=st.integers(min_value=2, max_value=366 * 86400),
    cut=st.floats(0, 1),
    amount=PRICE,
    qty=QTY,
)
def test_independent_proration_lines_round_each_on_their_own(period, cut, amount, qty):
    """Two lines for the two halves of a period, each computed on its own (as two separate changes
    would be), sum to the whole within one minor unit: half-up rounding per line, Stripe's rule. (Exact
    equality does not hold: a 3-cent price split in two equal halves bills 2 + 2.)"""
    start, end = 1_780_000_000, 1_780_000_000 + period
    middle = start + max(1, min(int(period * cut), period - 1))
    whole = amount * qty
    first = _half_up(Decimal(whole) * (middle - start) / period)
    second = (
        _prorations([(None, 0, _price(amount, "p"), qty)], start, end, middle)[0] if amount else 0
    )
    assert abs(first + second - whole) <= 1
