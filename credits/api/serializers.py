from rest_framework import serializers

from billing_project.api.fields import MoneyField, MoneyString, StrictSerializer

AMOUNT_HELP = 'Decimal string in major units of `currency`, e.g. "50.00".'


class TopUpInput(StrictSerializer):
    amount = MoneyString(help_text=AMOUNT_HELP)
    currency = serializers.RegexField(r"^[a-z]{3}$", help_text="Lower-case ISO 4217 code.")


class SettingsInput(StrictSerializer):
    currency = serializers.RegexField(r"^[a-z]{3}$", help_text="Lower-case ISO 4217 code.")
    auto_top_up_below = MoneyString(
        allow_null=True,
        help_text="Buy `auto_top_up_amount` when the balance falls below this; null: off.",
    )
    auto_top_up_amount = MoneyString(allow_null=True, help_text=AMOUNT_HELP)
    low_balance_below = MoneyString(
        allow_null=True,
        help_text="Notify once when the balance falls below this; null: off.",
    )


class WalletOutput(serializers.Serializer):
    currency = serializers.CharField()
    balance = MoneyField()
    auto_top_up_below = MoneyField(allow_null=True)
    auto_top_up_amount = MoneyField(allow_null=True)
    low_balance_below = MoneyField(allow_null=True)


class GrantOutput(serializers.Serializer):
    grant_id = serializers.CharField(source="pk")
    currency = serializers.CharField(source="wallet.currency")
    category = serializers.ChoiceField(choices=["paid", "promotional"])
    source = serializers.ChoiceField(choices=["top_up", "auto_top_up", "staff"])  # type: ignore[assignment]  # the API's field `source`; DRF's metaclass moves declared fields off the class
    state = serializers.ChoiceField(choices=["active", "expired", "voided"])
    amount = MoneyField(currency_source="wallet_currency")
    remaining = MoneyField(currency_source="wallet_currency")
    expires_at = serializers.DateTimeField(allow_null=True)
    granted_at = serializers.DateTimeField()


class CreditsOutput(serializers.Serializer):
    balances = WalletOutput(many=True)
    grants = GrantOutput(many=True)


class LedgerEntryOutput(serializers.Serializer):
    entry_id = serializers.CharField(source="pk")
    kind = serializers.ChoiceField(choices=["granted", "applied", "expired", "voided"])
    currency = serializers.CharField(source="wallet.currency")
    amount = MoneyField(currency_source="wallet_currency", help_text="Signed: + granted, - used.")
    balance_after = MoneyField(currency_source="wallet_currency", help_text="Running balance.")
    grant_id = serializers.CharField()
    invoice_id = serializers.CharField(source="invoice", allow_null=True)
    occurred_at = serializers.DateTimeField()
