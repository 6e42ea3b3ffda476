"""Input/Output serializers of the invoice API (money: decimal strings in major units)."""

from rest_framework import serializers

from billing_project.api.fields import MoneyField, StrictSerializer

AMOUNT_PATTERN = r"^-?\d+(\.\d{1,3})?$"


class InvoiceListFilter(StrictSerializer):
    status = serializers.ChoiceField(
        choices=["open", "paid", "void", "uncollectible"], required=False
    )
    # `from`/`to` are keywords in Python: the view maps them.
    from_ = serializers.DateTimeField(required=False)
    to = serializers.DateTimeField(required=False)
    # Paging parameters, read by the paginator (which answers a bad value with 400).
    limit = serializers.CharField(required=False, allow_blank=True)
    cursor = serializers.CharField(required=False, allow_blank=True)

    def to_internal_value(self, data):
        data = {("from_" if key == "from" else key): value for key, value in data.items()}
        return super().to_internal_value(data)


class InvoiceOutput(serializers.Serializer):
    invoice_id = serializers.CharField()
    invoice_number = serializers.CharField()
    status = serializers.CharField()
    currency = serializers.CharField()
    subtotal = MoneyField()
    discount = MoneyField()
    tax = MoneyField()
    total = MoneyField()
    amount_due = MoneyField()
    amount_paid = MoneyField()
    amount_remaining = MoneyField()
    period_start = serializers.DateTimeField(allow_null=True)
    period_end = serializers.DateTimeField(allow_null=True)
    due_date = serializers.DateTimeField(allow_null=True)
    created = serializers.DateTimeField(allow_null=True)
    paid_at = serializers.DateTimeField(allow_null=True)
    overdue = serializers.BooleanField()
    payment_processing = serializers.BooleanField(
        help_text="An open invoice whose bank debit (SEPA Direct Debit) is processing: it settles in "
        "a few days, paid or failed; paying it again is a 409 payment_processing meanwhile"
    )
    pdf_url = serializers.SerializerMethodField()

    def get_pdf_url(self, invoice) -> str:
        path = f"/api/v1/invoices/{invoice.invoice_id}/pdf"
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


class InvoiceLineOutput(serializers.Serializer):
    description = serializers.CharField()
    quantity = serializers.IntegerField()
    unit_amount = MoneyField(allow_null=True)
    amount = MoneyField()
    period_start = serializers.DateTimeField(allow_null=True)
    period_end = serializers.DateTimeField(allow_null=True)
    proration = serializers.BooleanField()
    kind = serializers.ChoiceField(choices=["plan", "proration", "usage", "discount", "adjustment"])


class InvoiceDetailOutput(InvoiceOutput):
    lines = InvoiceLineOutput(many=True)


class InvoicePayInput(StrictSerializer):
    payment_method_id = serializers.CharField(required=False, max_length=255)


class RefundCreateInput(StrictSerializer):
    amount = serializers.RegexField(
        AMOUNT_PATTERN,
        required=False,
        help_text="Decimal string in the invoice's currency; default: all not yet refunded.",
    )
    reason = serializers.CharField(max_length=2000)


class RefundOutput(serializers.Serializer):
    refund_id = serializers.CharField()
    invoice_id = serializers.CharField()
    status = serializers.CharField()
    amount = MoneyField()
    currency = serializers.CharField()
    credit_note_id = serializers.CharField(allow_blank=True, allow_null=True)
    requested_by = serializers.CharField()
    decided_by = serializers.CharField(allow_blank=True)


class CreditNoteCreateInput(StrictSerializer):
    amount = serializers.RegexField(AMOUNT_PATTERN)
    reason = serializers.CharField(max_length=2000)


class CreditNoteOutput(serializers.Serializer):
    credit_note_id = serializers.CharField()
    invoice_id = serializers.CharField()
    number = serializers.CharField()
    kind = serializers.CharField()
    amount = MoneyField()
    currency = serializers.CharField()
    reason = serializers.CharField()


class AdjustmentCreateInput(StrictSerializer):
    amount = MoneyField(help_text="Decimal string; negative for a credit on the next invoice.")
    currency = serializers.RegexField(r"^[a-z]{3}$", required=False, default="usd")
    description = serializers.CharField(max_length=500)


class AdjustmentOutput(serializers.Serializer):
    adjustment_id = serializers.CharField(source="stripe_invoice_item_id")
    amount = MoneyField()
    currency = serializers.CharField()
    description = serializers.CharField()


class InvoiceActionOutput(serializers.Serializer):
    invoice_id = serializers.CharField(source="id")
    status = serializers.CharField()
    amount_remaining = MoneyField()
    currency = serializers.CharField()
    payment_processing = serializers.SerializerMethodField(
        help_text="true when the payment is a bank debit (SEPA) that settles in a few days"
    )

    def get_payment_processing(self, invoice) -> bool:
        from billing_project.stripe_gateway.invoices import payment_processing_of

        return bool(payment_processing_of(invoice))
