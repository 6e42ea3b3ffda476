"""Payments, subscriptions, prorations, discounts, invoices, credit notes and refunds."""

import pytest
import stripe

from .helpers import DAY, T0, advance, customer_with_card, recurring_price


def test_payment_intent_with_test_cards(stripe_client, stripe_emulator_fresh):
    customer = stripe_client.v1.customers.create()
    ok = stripe_client.v1.payment_intents.create(
        params={
            "amount": 1234,
            "currency": "eur",
            "customer": customer.id,
            "payment_method": "pm_card_visa",
            "confirm": True,
        }
    )
    assert (
        ok.status == "succeeded"
        and ok.amount_received == 1234
        and ok.client_secret.startswith(ok.id)
    )
    charge = stripe_client.v1.charges.retrieve(ok.latest_charge)
    assert charge.paid and charge.payment_method_details.card.last4 == "4242"

    with pytest.raises(stripe.CardError) as exc:
        stripe_client.v1.payment_intents.create(
            params={
                "amount": 500,
                "currency": "usd",
                "payment_method": "pm_card_chargeCustomerFail",
                "confirm": True,
            }
        )
    assert exc.value.code == "card_declined"
    failed = stripe_client.v1.payment_intents.retrieve(exc.value.error.payment_intent.id)
    assert (
        failed.status == "requires_payment_method"
        and failed.last_payment_error.decline_code == "generic_decline"
    )

    pi = stripe_client.v1.payment_intents.create(
        params={
            "amount": 700,
            "currency": "usd",
            "payment_method": "pm_card_authenticationRequired",
        }
    )
    pi = stripe_client.v1.payment_intents.confirm(pi.id)
    assert pi.status == "requires_action" and pi.next_action.type == "use_stripe_sdk"
    assert stripe_client.v1.payment_intents.confirm(pi.id).status == "succeeded"  # 3DS passed
    types = [e.type for e in stripe_client.v1.events.list(params={"limit": 100}).data]
    assert {
        "payment_intent.succeeded",
        "payment_intent.payment_failed",
        "payment_intent.requires_action",
        "charge.failed",
        "charge.succeeded",
    } <= set(types)


def test_card_numbers_and_setup_intents(stripe_client, stripe_emulator_fresh):
    customer = stripe_client.v1.customers.create()
    pm = stripe_client.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": "5555555555554444", "exp_month": 4, "exp_year": 2031, "cvc": "123"},
        }
    )
    assert pm.card.brand == "mastercard" and pm.card.last4 == "4444" and pm.customer is None
    seti = stripe_client.v1.setup_intents.create(
        params={"customer": customer.id, "payment_method": pm.id, "confirm": True}
    )
    assert seti.status == "succeeded" and seti.client_secret.startswith(seti.id + "_secret_")
    assert stripe_client.v1.payment_methods.retrieve(pm.id).customer == customer.id
    declined = stripe_client.v1.payment_methods.create(
        params={"type": "card", "card": {"number": "4000000000000002"}}
    )
    seti = stripe_client.v1.setup_intents.create(params={"customer": customer.id})
    with pytest.raises(stripe.CardError):
        stripe_client.v1.setup_intents.confirm(seti.id, params={"payment_method": declined.id})
    assert stripe_client.v1.setup_intents.retrieve(seti.id).last_setup_error.code == "card_declined"
    with pytest.raises(stripe.CardError) as exc:
        stripe_client.v1.payment_methods.create(
            params={"type": "card", "card": {"number": "4242424242424241"}}
        )
    assert exc.value.code == "incorrect_number"
    listed = stripe_client.v1.payment_methods.list(params={"customer": customer.id, "type": "card"})
    assert [p.id for p in listed.data] == [pm.id]
    detached = stripe_client.v1.payment_methods.detach(pm.id)
    assert detached.customer is None


def test_subscription_payment_behaviors(stripe_client, stripe_emulator_fresh):
    price = recurring_price(stripe_client, amount=4900)
    good, _ = customer_with_card(stripe_client)
    sub = stripe_client.v1.subscriptions.create(
        params={
            "customer": good.id,
            "items": [{"price": price.id}],
            "payment_behavior": "default_incomplete",
            "expand": ["latest_invoice.confirmation_secret", "latest_invoice.payments"],
        }
    )
    assert sub.status == "incomplete"
    secret = sub.latest_invoice.confirmation_secret
    assert secret.type == "payment_intent"
    pi_id = sub.latest_invoice.payments.data[0].payment.payment_intent
    pi = stripe_client.v1.payment_intents.retrieve(pi_id)
    assert pi.client_secret == secret.client_secret and pi.status == "requires_payment_method"
    stripe_client.v1.payment_intents.confirm(pi_id, params={"payment_method": "pm_card_visa"})
    sub = stripe_client.v1.subscriptions.retrieve(sub.id, params={"expand": ["latest_invoice"]})
    assert sub.status == "active" and sub.latest_invoice.status == "paid"

    bad, _ = customer_with_card(stripe_client, card="pm_card_chargeCustomerFail")
    with pytest.raises(stripe.CardError):
        stripe_client.v1.subscriptions.create(
            params={
                "customer": bad.id,
                "items": [{"price": price.id}],
                "payment_behavior": "error_if_incomplete",
            }
        )
    assert stripe_client.v1.subscriptions.list(params={"customer": bad.id}).data == []
    sub = stripe_client.v1.subscriptions.create(
        params={"customer": bad.id, "items": [{"price": price.id}]}
    )
    assert sub.status == "incomplete"
    # The customer fixes the card and the product's dunning pays the open invoice.
    stripe_client.v1.invoices.pay(sub.latest_invoice, params={"payment_method": "pm_card_visa"})
    assert stripe_client.v1.subscriptions.retrieve(sub.id).status == "active"

    threeds, _ = customer_with_card(stripe_client, card="pm_card_authenticationRequired")
    sub = stripe_client.v1.subscriptions.create(
        params={
            "customer": threeds.id,
            "items": [{"price": price.id}],
            "expand": ["latest_invoice.payments"],
        }
    )
    pi = stripe_client.v1.payment_intents.retrieve(
        sub.latest_invoice.payments.data[0].payment.payment_intent
    )
    assert sub.status == "incomplete" and pi.status == "requires_action"
    stripe_client.v1.payment_intents.confirm(pi.id)
    assert stripe_client.v1.subscriptions.retrieve(sub.id).status == "active"


def test_proration_preview_and_always_invoice(stripe_client, stripe_emulator_fresh):
    clock = stripe_client.v1.test_helpers.test_clocks.create(params={"frozen_time": T0})
    customer, _ = customer_with_card(stripe_client, clock=clock.id)
    basic = recurring_price(stripe_client, amount=1000, name="Basic")
    pro = recurring_price(stripe_client, amount=3000, name="Pro")
    sub = stripe_client.v1.subscriptions.create(
        params={"customer": customer.id, "items": [{"price": basic.id}]}
    )
    item = sub["items"].data[0]
    assert (item.current_period_start, item.current_period_end) == (T0, T0 + 31 * DAY)
    at = T0 + 10 * DAY  # 21 of 31 days left
    preview = stripe_client.v1.invoices.create_preview(
        params={
            "customer": customer.id,
            "subscription": sub.id,
            "subscription_details": {
                "items": [{"id": item.id, "price": pro.id}],
                "proration_date": at,
                "proration_behavior": "always_invoice",
            },
        }
    )
    amounts = sorted(line.amount for line in preview.lines.data)
    assert amounts == [-677, 2032]  # -1000*21/31 = -677.4, 3000*21/31 = 2032.3
    assert preview.amount_due == 1355 and preview.id.startswith("upcoming_in_")
    assert all(line.parent.subscription_item_details.proration for line in preview.lines.data)

    next_cycle = stripe_client.v1.invoices.create_preview(
        params={
            "customer": customer.id,
            "subscription": sub.id,
            "subscription_details": {
                "items": [{"id": item.id, "price": pro.id}],
                "proration_date": at,
            },
        }
    )
    assert sorted(line.amount for line in next_cycle.lines.data) == [-677, 2032, 3000]

    advance(stripe_client, clock.id, at)
    updated = stripe_client.v1.subscriptions.update(
        sub.id,
        params={
            "items": [{"id": item.id, "price": pro.id}],
            "proration_behavior": "always_invoice",
            "proration_date": at,
            "expand": ["latest_invoice"],
        },
    )
    assert updated["items"].data[0].price.id == pro.id
    assert updated.latest_invoice.billing_reason == "subscription_update"
    assert updated.latest_invoice.amount_paid == 1355 and updated.latest_invoice.status == "paid"
    event = stripe_client.v1.events.list(params={"type": "customer.subscription.updated"}).data[0]
    assert event.data.previous_attributes["items"].data[0].price.id == basic.id


def test_create_prorations_land_on_next_invoice(stripe_client, stripe_emulator_fresh):
    clock = stripe_client.v1.test_helpers.test_clocks.create(params={"frozen_time": T0})
    customer, _ = customer_with_card(stripe_client, clock=clock.id)
    price = recurring_price(stripe_client, amount=1000)
    sub = stripe_client.v1.subscriptions.create(
        params={"customer": customer.id, "items": [{"price": price.id}]}
    )
    advance(stripe_client, clock.id, T0 + 20 * DAY + 12 * 3600)
    stripe_client.v1.subscriptions.update(
        sub.id, params={"items": [{"id": sub["items"].data[0].id, "quantity": 3}]}
    )
    pending = stripe_client.v1.invoice_items.list(
        params={"customer": customer.id, "pending": True}
    ).data
    # 10.5 of 31 days left: -1000*10.5/31 = -338.7 and 3000*10.5/31 = 1016.1
    assert sorted(ii.amount for ii in pending) == [-339, 1016] and all(
        ii.proration for ii in pending
    )
    advance(stripe_client, clock.id, T0 + 31 * DAY + 60)
    invoice = stripe_client.v1.invoices.list(params={"subscription": sub.id, "limit": 1}).data[0]
    assert sorted(line.amount for line in invoice.lines.data) == [-339, 1016, 3000]
    assert invoice.amount_paid == 3677
    assert (
        stripe_client.v1.invoice_items.list(params={"customer": customer.id, "pending": True}).data
        == []
    )


def test_coupons_and_promotion_codes(stripe_client, stripe_emulator_fresh):
    clock = stripe_client.v1.test_helpers.test_clocks.create(params={"frozen_time": T0})
    price = recurring_price(stripe_client, amount=2000)
    coupon = stripe_client.v1.coupons.create(
        params={
            "percent_off": 25,
            "duration": "repeating",
            "duration_in_months": 2,
            "max_redemptions": 5,
        }
    )
    promo = stripe_client.v1.promotion_codes.create(
        params={"promotion": {"type": "coupon", "coupon": coupon.id}, "code": "SPRING25"}
    )
    assert promo.promotion.coupon == coupon.id and promo.promotion.type == "coupon"
    assert stripe_client.v1.promotion_codes.list(params={"code": "SPRING25"}).data[0].id == promo.id
    customer, _ = customer_with_card(stripe_client, clock=clock.id)
    sub = stripe_client.v1.subscriptions.create(
        params={
            "customer": customer.id,
            "items": [{"price": price.id}],
            "discounts": [{"promotion_code": promo.id}],
            "expand": ["latest_invoice", "discounts"],
        }
    )
    assert (
        sub.discounts[0].promotion_code == promo.id and sub.discounts[0].source.coupon == coupon.id
    )
    assert (
        sub.latest_invoice.total == 1500
        and sub.latest_invoice.total_discount_amounts[0].amount == 500
    )
    assert stripe_client.v1.coupons.retrieve(coupon.id).times_redeemed == 1
    advance(stripe_client, clock.id, T0 + 31 * DAY + 60)  # second month: still discounted
    advance(stripe_client, clock.id, T0 + 59 * DAY + 60)  # third month: repeating coupon over
    totals = [i.total for i in stripe_client.v1.invoices.list(params={"subscription": sub.id}).data]
    assert totals == [2000, 1500, 1500]

    once = stripe_client.v1.coupons.create(
        params={"amount_off": 700, "currency": "usd", "duration": "once", "id": "WELCOME7"}
    )
    other, _ = customer_with_card(stripe_client, clock=clock.id)
    sub2 = stripe_client.v1.subscriptions.create(
        params={
            "customer": other.id,
            "items": [{"price": price.id}],
            "discounts": [{"coupon": once.id}],
            "expand": ["latest_invoice"],
        }
    )
    assert sub2.latest_invoice.amount_paid == 1300
    limited = stripe_client.v1.coupons.create(params={"percent_off": 10, "max_redemptions": 1})
    stripe_client.v1.subscriptions.create(
        params={
            "customer": other.id,
            "items": [{"price": price.id}],
            "discounts": [{"coupon": limited.id}],
        }
    )
    assert stripe_client.v1.coupons.retrieve(limited.id).valid is False
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.subscriptions.create(
            params={
                "customer": other.id,
                "items": [{"price": price.id}],
                "discounts": [{"coupon": limited.id}],
            }
        )


def test_manual_invoice_lifecycle(stripe_client, stripe_emulator_fresh):
    customer, _ = customer_with_card(stripe_client)
    stripe_client.v1.invoice_items.create(
        params={
            "customer": customer.id,
            "amount": 1500,
            "currency": "usd",
            "description": "Setup fee",
        }
    )
    invoice = stripe_client.v1.invoices.create(
        params={"customer": customer.id, "pending_invoice_items_behavior": "include"}
    )
    assert invoice.status == "draft" and invoice.amount_due == 1500
    lines = stripe_client.v1.invoices.line_items.list(invoice.id)
    assert lines.data[0].parent.type == "invoice_item_details" and lines.data[0].amount == 1500
    invoice = stripe_client.v1.invoices.finalize_invoice(invoice.id)
    assert invoice.status == "open" and invoice.number.endswith("-0001")
    invoice = stripe_client.v1.invoices.pay(invoice.id)
    assert (
        invoice.status == "paid" and invoice.amount_paid == 1500 and invoice.amount_remaining == 0
    )
    payments = stripe_client.v1.invoice_payments.list(params={"invoice": invoice.id}).data
    assert payments[0].status == "paid" and payments[0].amount_paid == 1500

    draft = stripe_client.v1.invoices.create(params={"customer": customer.id})
    stripe_client.v1.invoice_items.create(
        params={"customer": customer.id, "amount": 800, "currency": "usd", "invoice": draft.id}
    )
    voided = stripe_client.v1.invoices.void_invoice(
        stripe_client.v1.invoices.finalize_invoice(draft.id).id
    )
    assert voided.status == "void" and voided.status_transitions.voided_at
    third = stripe_client.v1.invoices.create(params={"customer": customer.id})
    stripe_client.v1.invoice_items.create(
        params={"customer": customer.id, "amount": 300, "currency": "usd", "invoice": third.id}
    )
    stripe_client.v1.invoices.finalize_invoice(third.id)
    assert stripe_client.v1.invoices.mark_uncollectible(third.id).status == "uncollectible"
    statuses = {
        i.status for i in stripe_client.v1.invoices.list(params={"customer": customer.id}).data
    }
    assert statuses == {"paid", "void", "uncollectible"}
    assert [i.id for i in stripe_client.v1.invoices.list(params={"status": "void"}).data] == [
        voided.id
    ]
    types = {e.type for e in stripe_client.v1.events.list(params={"limit": 100}).data}
    assert {
        "invoice.created",
        "invoice.finalized",
        "invoice.paid",
        "invoice_payment.paid",
        "invoice.voided",
        "invoice.marked_uncollectible",
        "invoiceitem.created",
    } <= types


def test_refunds_full_and_partial(stripe_client, stripe_emulator_fresh):
    pi = stripe_client.v1.payment_intents.create(
        params={
            "amount": 5000,
            "currency": "usd",
            "payment_method": "pm_card_visa",
            "confirm": True,
        }
    )
    partial = stripe_client.v1.refunds.create(params={"payment_intent": pi.id, "amount": 1200})
    assert (
        partial.amount == 1200
        and partial.status == "succeeded"
        and partial.charge == pi.latest_charge
    )
    charge = stripe_client.v1.charges.retrieve(pi.latest_charge)
    assert (
        charge.amount_refunded == 1200
        and charge.refunded is False
        and len(charge.refunds.data) == 1
    )
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.refunds.create(params={"charge": charge.id, "amount": 4000})
    rest = stripe_client.v1.refunds.create(params={"charge": charge.id})
    assert rest.amount == 3800
    charge = stripe_client.v1.charges.retrieve(charge.id)
    assert charge.refunded is True and charge.amount_refunded == 5000
    refunded_event = stripe_client.v1.events.list(params={"type": "charge.refunded"}).data[0]
    assert refunded_event.data.previous_attributes.amount_refunded == 1200


def test_credit_notes(stripe_client, stripe_emulator_fresh):
    customer, _ = customer_with_card(stripe_client)
    price = recurring_price(stripe_client, amount=10000)
    sub = stripe_client.v1.subscriptions.create(
        params={
            "customer": customer.id,
            "items": [{"price": price.id}],
            "expand": ["latest_invoice"],
        }
    )
    invoice = sub.latest_invoice
    line = invoice.lines.data[0]
    preview = stripe_client.v1.credit_notes.preview(
        params={
            "invoice": invoice.id,
            "lines": [{"type": "invoice_line_item", "invoice_line_item": line.id, "amount": 2500}],
            "refund_amount": 2500,
        }
    )
    assert preview.total == 2500 and preview.type == "post_payment"
    assert stripe_client.v1.credit_notes.list(params={"invoice": invoice.id}).data == []
    refund_note = stripe_client.v1.credit_notes.create(
        params={
            "invoice": invoice.id,
            "lines": [{"type": "invoice_line_item", "invoice_line_item": line.id, "amount": 2500}],
            "refund_amount": 2500,
            "reason": "product_unsatisfactory",
        }
    )
    assert refund_note.refunds[0].amount_refunded == 2500
    assert stripe_client.v1.refunds.retrieve(refund_note.refunds[0].refund).amount == 2500
    credit_note = stripe_client.v1.credit_notes.create(
        params={"invoice": invoice.id, "amount": 1000, "credit_amount": 1000}
    )
    assert stripe_client.v1.customers.retrieve(customer.id).balance == -1000
    assert credit_note.customer_balance_transaction.startswith("cbtxn_")
    invoice = stripe_client.v1.invoices.retrieve(invoice.id)
    assert invoice.post_payment_credit_notes_amount == 3500
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.credit_notes.create(
            params={"invoice": invoice.id, "amount": 7000, "refund_amount": 7000}
        )

    # The credit balance is consumed by the next invoice; a pre-payment credit note reduces what is due.
    stripe_client.v1.invoice_items.create(
        params={"customer": customer.id, "amount": 3000, "currency": "usd"}
    )
    draft = stripe_client.v1.invoices.create(
        params={"customer": customer.id, "pending_invoice_items_behavior": "include"}
    )
    open_invoice = stripe_client.v1.invoices.finalize_invoice(draft.id)
    assert open_invoice.amount_due == 2000 and open_invoice.starting_balance == -1000
    stripe_client.v1.credit_notes.create(
        params={
            "invoice": open_invoice.id,
            "lines": [
                {
                    "type": "custom_line_item",
                    "unit_amount": 500,
                    "quantity": 1,
                    "description": "Goodwill",
                }
            ],
        }
    )
    open_invoice = stripe_client.v1.invoices.retrieve(open_invoice.id)
    assert (
        open_invoice.amount_remaining == 1500
        and open_invoice.pre_payment_credit_notes_amount == 500
    )
    assert stripe_client.v1.invoices.pay(open_invoice.id).amount_paid == 1500
    assert "credit_note.created" in {
        e.type for e in stripe_client.v1.events.list(params={"limit": 100}).data
    }


def test_zero_decimal_currency(stripe_client, stripe_emulator_fresh):
    clock = stripe_client.v1.test_helpers.test_clocks.create(params={"frozen_time": T0})
    customer, _ = customer_with_card(stripe_client, clock=clock.id)
    price = recurring_price(stripe_client, amount=1000, currency="jpy")  # ¥1,000, not ¥10
    sub = stripe_client.v1.subscriptions.create(
        params={
            "customer": customer.id,
            "items": [{"price": price.id}],
            "expand": ["latest_invoice"],
        }
    )
    assert sub.latest_invoice.currency == "jpy" and sub.latest_invoice.amount_paid == 1000
    bigger = recurring_price(stripe_client, amount=3333, currency="jpy")
    preview = stripe_client.v1.invoices.create_preview(
        params={
            "customer": customer.id,
            "subscription": sub.id,
            "subscription_details": {
                "items": [{"id": sub["items"].data[0].id, "price": bigger.id}],
                "proration_date": T0 + 7 * DAY,
                "proration_behavior": "always_invoice",
            },
        }
    )
    # 24 of 31 days left: -1000*24/31 = -774.19, 3333*24/31 = 2580.39, rounded to whole yen
    assert sorted(line.amount for line in preview.lines.data) == [-774, 2580]
    charge = stripe_client.v1.charges.list(params={"customer": customer.id}).data[0]
    assert (charge.amount, charge.currency) == (1000, "jpy")


def test_catalog_lookup_keys_and_immutability(stripe_client, stripe_emulator_fresh):
    first = recurring_price(stripe_client, amount=1000, lookup_key="pro_monthly")
    with pytest.raises(stripe.InvalidRequestError):
        recurring_price(stripe_client, amount=1100, lookup_key="pro_monthly")
    second = recurring_price(
        stripe_client, amount=1100, lookup_key="pro_monthly", transfer_lookup_key=True
    )
    assert stripe_client.v1.prices.retrieve(first.id).lookup_key is None
    found = stripe_client.v1.prices.list(params={"lookup_keys": ["pro_monthly"]}).data
    assert [p.id for p in found] == [second.id]
    with pytest.raises(stripe.InvalidRequestError) as exc:
        stripe_client.v1.prices.update(second.id, params={"unit_amount": 5})
    assert exc.value.param == "unit_amount"
    updated = stripe_client.v1.prices.update(
        second.id, params={"active": False, "nickname": "old", "metadata": {"v": "1"}}
    )
    assert (updated.active, updated.nickname, updated.metadata.v) == (False, "old", "1")
    one_off = stripe_client.v1.prices.create(
        params={"product_data": {"name": "Setup"}, "unit_amount": 900, "currency": "usd"}
    )
    assert one_off.type == "one_time" and one_off.recurring is None
    yearly = recurring_price(stripe_client, amount=20000, interval="year")
    assert yearly.recurring.interval == "year"
    assert {"price.created", "price.updated", "product.created"} <= {
        e.type for e in stripe_client.v1.events.list(params={"limit": 100}).data
    }
    assert (
        stripe_client.v1.events.list(params={"types": ["price.updated"]})
        .data[0]
        .data.previous_attributes
    )


def test_cancel_now_and_resume(stripe_client, stripe_emulator_fresh):
    price = recurring_price(stripe_client, amount=1000)
    customer, _ = customer_with_card(stripe_client)
    sub = stripe_client.v1.subscriptions.create(
        params={"customer": customer.id, "items": [{"price": price.id}]}
    )
    canceled = stripe_client.v1.subscriptions.cancel(sub.id)
    assert canceled.status == "canceled" and canceled.ended_at
    assert stripe_client.v1.subscriptions.list(params={"customer": customer.id}).data == []
    assert (
        len(
            stripe_client.v1.subscriptions.list(
                params={"customer": customer.id, "status": "all"}
            ).data
        )
        == 1
    )

    bare = stripe_client.v1.customers.create(
        params={
            "test_clock": stripe_client.v1.test_helpers.test_clocks.create(
                params={"frozen_time": T0}
            ).id
        }
    )
    paused = stripe_client.v1.subscriptions.create(
        params={
            "customer": bare.id,
            "items": [{"price": price.id}],
            "trial_period_days": 7,
            "trial_settings": {"end_behavior": {"missing_payment_method": "pause"}},
        }
    )
    advance(stripe_client, bare.test_clock, T0 + 8 * DAY)
    assert stripe_client.v1.subscriptions.retrieve(paused.id).status == "paused"
    stripe_client.v1.payment_methods.attach("pm_card_visa", params={"customer": bare.id})
    pm = stripe_client.v1.payment_methods.list(params={"customer": bare.id}).data[0]
    stripe_client.v1.customers.update(
        bare.id, params={"invoice_settings": {"default_payment_method": pm.id}}
    )
    resumed = stripe_client.v1.subscriptions.resume(
        paused.id, params={"expand": ["latest_invoice"]}
    )
    assert resumed.status == "active" and resumed.latest_invoice.amount_paid == 1000
    types = [e.type for e in stripe_client.v1.events.list(params={"limit": 100}).data]
    assert "customer.subscription.paused" in types and "customer.subscription.resumed" in types
