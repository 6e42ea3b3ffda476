from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from billing_project.api.fields import MoneyField, StrictSerializer
from subscriptions.models import Plan


class PlanOverageOutput(serializers.Serializer):
    resource_type = serializers.CharField(source="overage_resource")
    unit_amount = MoneyField(
        source="overage_unit_amount", help_text="price of one block above the limit"
    )
    block_size = serializers.IntegerField(
        source="overage_block_size", help_text="e.g. 1000: per 1,000 units"
    )
    currency = serializers.CharField()


class PlanOutput(serializers.ModelSerializer):
    plan_id = serializers.CharField(source="code")
    price_monthly = MoneyField()
    price_yearly = MoneyField()
    features = serializers.ListField(child=serializers.CharField())
    limits = serializers.DictField(
        child=serializers.IntegerField(allow_null=True),
        help_text="resource type -> limit per billing period; null = unlimited",
    )
    hard_limits = serializers.ListField(
        child=serializers.CharField(),
        help_text="resources denied beyond their limit; the others are soft",
    )
    overage = serializers.SerializerMethodField(
        help_text="metered price of usage above the limit, or null"
    )
    trial_days = serializers.IntegerField(
        help_text="free trial of a new subscription, in days (0 = none)"
    )
    trial_without_card = serializers.BooleanField(
        help_text="the trial starts without a payment method (card-less trial)"
    )

    class Meta:
        model = Plan
        fields = [
            "plan_id",
            "name",
            "description",
            "price_monthly",
            "price_yearly",
            "currency",
            "features",
            "limits",
            "hard_limits",
            "overage",
            "trial_days",
            "trial_without_card",
            "stripe_price_id",
            "stripe_price_id_yearly",
        ]

    @extend_schema_field(PlanOverageOutput(allow_null=True))
    def get_overage(self, plan):
        return PlanOverageOutput(plan).data if plan.overage_resource else None


CYCLE_CHOICES = ["monthly", "yearly"]


class SubscriptionCreateInput(StrictSerializer):
    plan_id = serializers.CharField()
    billing_cycle = serializers.ChoiceField(choices=CYCLE_CHOICES, default="monthly")
    price_id = serializers.CharField(
        required=False,
        help_text="Accepted for compatibility; must be the plan's price for the chosen cycle.",
    )
    trial_days = serializers.IntegerField(min_value=0, max_value=90, default=0)
    coupon = serializers.CharField(required=False, allow_blank=True)
    payment_method = serializers.CharField(
        required=False, help_text="A Stripe pm_... id from Stripe.js."
    )


class SubscriptionUpdateInput(StrictSerializer):
    cancel_at_period_end = serializers.BooleanField(required=False)
    plan_id = serializers.CharField(required=False)
    billing_cycle = serializers.ChoiceField(choices=CYCLE_CHOICES, required=False)
    when = serializers.ChoiceField(
        choices=["now", "period_end"],
        required=False,
        help_text="Downgrades happen at period end unless 'now'.",
    )

    def validate(self, attrs):
        if ("cancel_at_period_end" in attrs) == ("plan_id" in attrs):
            raise serializers.ValidationError("Give either cancel_at_period_end or plan_id.")
        return attrs


class CancelAtPeriodEndInput(StrictSerializer):
    """The schema's first form of SubscriptionUpdateInput (cancel at period end, or resume)."""

    cancel_at_period_end = serializers.BooleanField()


class PlanChangeInput(StrictSerializer):
    """The schema's second form of SubscriptionUpdateInput (change plan)."""

    plan_id = serializers.CharField()
    billing_cycle = serializers.ChoiceField(choices=CYCLE_CHOICES, required=False)
    when = serializers.ChoiceField(
        choices=["now", "period_end"],
        required=False,
        help_text="Downgrades happen at period end unless 'now'.",
    )


class SubscriptionPreviewInput(StrictSerializer):
    plan_id = serializers.CharField()
    billing_cycle = serializers.ChoiceField(choices=CYCLE_CHOICES, required=False)
    when = serializers.ChoiceField(choices=["now", "period_end"], required=False)


class SubscriptionOutput(serializers.Serializer):
    subscription_id = serializers.CharField()
    status = serializers.CharField()
    plan_id = serializers.SerializerMethodField()
    billing_cycle = serializers.CharField()
    trial_end = serializers.DateTimeField(allow_null=True)
    current_period_start = serializers.DateTimeField(allow_null=True)
    current_period_end = serializers.DateTimeField(allow_null=True)
    cancel_at_period_end = serializers.BooleanField()
    latest_invoice_id = serializers.SerializerMethodField()
    client_secret = serializers.SerializerMethodField()
    scheduled_change = serializers.SerializerMethodField()

    def get_plan_id(self, account) -> str | None:
        # After a downgrade at period end the plan in force is still the previous one.
        if account.previous_plan_id and account.previous_plan_until:
            return account.previous_plan.code
        return account.plan.code if account.plan else None

    def get_latest_invoice_id(self, account) -> str | None:
        return account.latest_invoice_id or None

    def get_client_secret(self, account) -> str | None:
        return self.context.get("client_secret")

    def get_scheduled_change(self, account) -> dict | None:
        if account.previous_plan_id and account.previous_plan_until:
            return {
                "plan_id": account.plan.code,
                "billing_cycle": account.billing_cycle,
                "effective_at": serializers.DateTimeField().to_representation(
                    account.previous_plan_until
                ),
            }
        return None


class PreviewLineOutput(serializers.Serializer):
    description = serializers.CharField()
    amount = MoneyField()
    proration = serializers.BooleanField()
    period_start = serializers.DateTimeField()
    period_end = serializers.DateTimeField()


class PreviewOutput(serializers.Serializer):
    amount_due_now = MoneyField()
    currency = serializers.CharField()
    next_invoice_total = MoneyField()
    next_invoice_date = serializers.DateTimeField(allow_null=True)
    lines = serializers.SerializerMethodField()
    effective = serializers.CharField(help_text="now | period_end: when the change takes effect")

    def get_lines(self, data) -> list:
        return PreviewLineOutput(
            [{**line, "currency": data["currency"]} for line in data["lines"]], many=True
        ).data  # type: ignore[return-value]  # many=True gives a list (ReturnList); the stubs type .data as Serializer's


class PaymentMethodCreateInput(StrictSerializer):
    type = serializers.ChoiceField(
        choices=["card", "sepa_debit", "paypal"],
        default="card",
        help_text="card: `token`; sepa_debit: `iban` (or a sepa_debit `token`), the mandate is accepted "
        "for the customer; paypal: `return_url`, then the payer approves at `approval_url`",
    )
    token = serializers.CharField(
        required=False, max_length=255, help_text="pm_... (or tok_...) from Stripe.js"
    )
    iban = serializers.CharField(required=False, max_length=64, help_text="sepa_debit: the IBAN")
    account_holder_name = serializers.CharField(
        required=False,
        max_length=200,
        help_text="sepa_debit: the account holder (default: the tenant's name)",
    )
    return_url = serializers.CharField(
        required=False,
        max_length=2000,
        help_text="paypal: where PayPal sends the payer back (setup_intent and redirect_status appended)",
    )
    set_default = serializers.BooleanField(default=False)

    def validate(self, attrs):
        kind = attrs.get("type", "card")
        needed = {"card": "token", "paypal": "return_url"}.get(kind)
        if needed and not attrs.get(needed):
            raise serializers.ValidationError(
                {needed: [f"This field is required for type {kind}."]}
            )
        if kind == "sepa_debit" and not (attrs.get("iban") or attrs.get("token")):
            raise serializers.ValidationError(
                {"iban": ["This field is required for type sepa_debit."]}
            )
        for name in ("iban", "account_holder_name"):
            if attrs.get(name) and kind != "sepa_debit":
                raise serializers.ValidationError({name: ["Only for type sepa_debit."]})
        if attrs.get("return_url") and kind != "paypal":
            raise serializers.ValidationError({"return_url": ["Only for type paypal."]})
        if attrs.get("token") and kind == "paypal":
            raise serializers.ValidationError({"token": ["Not for type paypal: use return_url."]})
        return attrs


class PaymentMethodOutput(serializers.Serializer):
    payment_method_id = serializers.CharField()
    type = serializers.CharField(help_text="card, sepa_debit or paypal")
    label = serializers.CharField(  # type: ignore[assignment]  # the API's field `label`; DRF's metaclass moves declared fields off the class
        help_text='What a person recognises: "Visa •••• 4242, 12/34", "SEPA DE89 •••• 3000", '
        '"PayPal j•••@example.com"'
    )
    brand = serializers.CharField(allow_null=True)
    last4 = serializers.CharField(allow_null=True, help_text="card or IBAN")
    exp_month = serializers.IntegerField(allow_null=True)
    exp_year = serializers.IntegerField(allow_null=True)
    country = serializers.CharField(allow_null=True)
    email = serializers.CharField(allow_null=True, help_text="paypal: the payer's email")
    is_default = serializers.BooleanField()
    status = serializers.ChoiceField(
        choices=["active", "requires_approval"],
        help_text="requires_approval: a PayPal account waiting for the payer at approval_url",
    )
    approval_url = serializers.CharField(allow_null=True)


class ClientSecretOutput(serializers.Serializer):
    client_secret = serializers.CharField()
