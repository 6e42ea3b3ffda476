"""Money sums are exact: total == sum of lines - discounts + tax, in minor units, through Stripe
(the emulator), our mirror reader and the API's decimal strings, including a zero-decimal currency."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing_project import money


# One currency per test: a Stripe customer bills in one currency; hypothesis' examples share it.
@pytest.mark.parametrize("currency", ["usd", "jpy"])
@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    amounts=st.lists(
        st.integers(min_value=-5_000, max_value=2_000_000).filter(bool), min_size=1, max_size=5
    ),
    percent=st.sampled_from([None, 10, 15, 33]),
)
def test_invoice_total_is_lines_minus_discounts_plus_tax(
    billing, tenant, owner_client, currency, amounts, percent
):
    from invoicing.services.common import mirror_invoice

    stripe = billing.stripe
    account = billing.customer(tenant, card=None)
    customer = account.stripe_customer_id
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
    if percent:
        coupon = stripe.v1.coupons.create(params={"percent_off": percent, "duration": "once"})
        params["discounts"] = [{"coupon": coupon.id}]
    draft = stripe.v1.invoices.create(params=params)
    final = stripe.v1.invoices.finalize_invoice(draft.id)
    mirror_invoice(final)

    detail = owner_client.get(f"/api/v1/invoices/{final.id}").json()
    minor = {
        key: money.to_minor(detail[key], currency)
        for key in ("subtotal", "discount", "tax", "total")
    }
    charges = [
        money.to_minor(line["amount"], currency)
        for line in detail["lines"]
        if line["kind"] != "discount"
    ]
    discounts = [
        money.to_minor(line["amount"], currency)
        for line in detail["lines"]
        if line["kind"] == "discount"
    ]
    assert sum(charges) == minor["subtotal"] == sum(amounts)
    assert minor["total"] == sum(charges) + sum(discounts) + minor["tax"] == final.total
    assert -sum(discounts) == minor["discount"]
    assert all(
        line["kind"] == "adjustment" for line in detail["lines"] if line["kind"] != "discount"
    )
    if currency == "jpy":
        assert "." not in detail["total"]
