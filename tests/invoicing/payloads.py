"""Stripe-shaped (dahlia) invoice payloads for tests and the benchmark that need no Stripe."""

from datetime import UTC, datetime

MARCH_5 = int(datetime(2026, 3, 5, 12, tzinfo=UTC).timestamp())
APRIL_5 = int(datetime(2026, 4, 5, 12, tzinfo=UTC).timestamp())


def line(
    amount: int,
    description: str,
    *,
    currency: str = "usd",
    quantity: int = 1,
    proration: bool = False,
    invoice_item: bool = False,
) -> dict:
    details = {"proration": proration}
    parent = (
        {
            "type": "invoice_item_details",
            "invoice_item_details": {"invoice_item": "ii_1", **details},
        }
        if invoice_item
        else {
            "type": "subscription_item_details",
            "subscription_item_details": {"subscription_item": "si_1", **details},
        }
    )
    return {
        "id": f"il_{description[:8]}",
        "amount": amount,
        "currency": currency,
        "description": description,
        "quantity": quantity,
        "period": {"start": MARCH_5, "end": APRIL_5},
        "parent": parent,
        "pricing": {"price_details": None, "unit_amount_decimal": None},
    }


def invoice(
    *,
    lines: list[dict],
    currency: str = "usd",
    status: str = "open",
    discount: int = 0,
    tax: int = 0,
    number: str = "ACME-0042",
    invoice_id: str = "in_test_0042",
) -> dict:
    subtotal = sum(item["amount"] for item in lines)
    total = subtotal - discount + tax
    paid = total if status == "paid" else 0
    return {
        "id": invoice_id,
        "object": "invoice",
        "number": number,
        "status": status,
        "currency": currency,
        "customer": "cus_test",
        "subtotal": subtotal,
        "total": total,
        "amount_due": total,
        "amount_paid": paid,
        "amount_remaining": total - paid,
        "created": MARCH_5,
        "due_date": APRIL_5,
        "period_start": MARCH_5,
        "period_end": APRIL_5,
        "hosted_invoice_url": "",
        "total_discount_amounts": [{"amount": discount, "discount": "di_1"}] if discount else [],
        "total_taxes": [{"amount": tax}] if tax else [],
        "status_transitions": {
            "paid_at": APRIL_5 if status == "paid" else None,
            "finalized_at": MARCH_5,
        },
        "lines": {"data": lines, "has_more": False},
    }
