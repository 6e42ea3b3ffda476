"""The prepaid credits API: thin views over credits' selectors and services."""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.response import Response

from billing_project.api.exceptions import InvalidRequest
from billing_project.api.fields import exact_minor
from billing_project.api.views import BaseApiView, BaseListApiView
from credits import selectors, services
from credits.api import serializers as s

CURRENCY_PARAM = OpenApiParameter(
    "currency", str, pattern=r"^[a-z]{3}$", description="Only this currency's wallet."
)


def _currency_filter(request) -> str | None:
    currency = request.query_params.get("currency")
    if currency is not None and not (
        len(currency) == 3 and currency.isascii() and currency.isalpha() and currency.islower()
    ):
        raise InvalidRequest(
            "currency must be a lower-case ISO 4217 code.", detail={"currency": ["Invalid."]}
        )
    return currency


class CreditsApi(BaseApiView):
    @extend_schema(
        parameters=[CURRENCY_PARAM],
        responses={200: s.CreditsOutput},
        tags=["credits"],
        summary="Prepaid credit: balance per currency and every grant with what remains of it",
    )
    def get(self, request):
        tenant, currency = request.auth.tenant, _currency_filter(request)
        wallets = selectors.wallet_list(tenant=tenant)
        if currency:
            wallets = wallets.filter(currency=currency)
        grants = selectors.grant_list(tenant=tenant, currency=currency)
        return Response(s.CreditsOutput({"balances": wallets, "grants": grants}).data)


class CreditLedgerApi(BaseListApiView):
    ordering = "-created"

    @extend_schema(
        parameters=[CURRENCY_PARAM],
        responses={200: s.LedgerEntryOutput(many=True)},
        tags=["credits"],
        summary="The credit ledger, newest first: granted, applied to an invoice, expired, voided, "
        "each with the running balance of its currency",
    )
    def get(self, request):
        entries = selectors.ledger_list(
            tenant=request.auth.tenant, currency=_currency_filter(request)
        )
        return self.paged_response(entries, s.LedgerEntryOutput)


class TopUpApi(BaseApiView):
    @extend_schema(
        request=s.TopUpInput,
        responses={
            201: s.GrantOutput,
            202: OpenApiResponse(
                description="The payment is processing (a bank debit): the credit is granted "
                "when it succeeds, by the payment_intent.succeeded webhook"
            ),
        },
        tags=["credits"],
        summary="Buy prepaid credit now with the default payment method (card_declined, "
        "authentication_required, no_payment_method, currency_mismatch)",
    )
    def post(self, request):
        data = s.TopUpInput(data=request.data)
        data.is_valid(raise_exception=True)
        currency = data.validated_data["currency"]
        grant = services.credit_top_up(
            tenant=request.auth.tenant,
            amount=exact_minor(data.validated_data["amount"], currency),
            currency=currency,
            actor=request.auth.actor,
            request_key=request.headers.get("Idempotency-Key"),
        )
        if grant is None:
            # Taken but not settled yet: nothing is granted until Stripe says it succeeded.
            return Response({"status": "processing"}, status=202)
        return Response(s.GrantOutput(grant).data, status=201)


class CreditSettingsApi(BaseApiView):
    @extend_schema(
        request=s.SettingsInput,
        responses={200: s.WalletOutput},
        tags=["credits"],
        summary="Auto top-up and low-balance notification of one currency's wallet (null: off)",
    )
    def put(self, request):
        data = s.SettingsInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        currency = values["currency"]
        wallet = services.wallet_settings_update(
            tenant=request.auth.tenant,
            currency=currency,
            actor=request.auth.actor,
            **{
                name: None if values[name] is None else exact_minor(values[name], currency, name)
                for name in ("auto_top_up_below", "auto_top_up_amount", "low_balance_below")
            },
        )
        return Response(s.WalletOutput(wallet).data)
