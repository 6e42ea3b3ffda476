"""The analytics API for platform staff: thin views over analytics.selectors."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response

from analytics import selectors
from analytics.api import serializers as s
from billing_project.api.permissions import STAFF_READ
from billing_project.api.views import BaseApiView

PARAMETERS = [
    OpenApiParameter("from", OpenApiTypes.DATE, description="First day (default: 12 months back)."),
    OpenApiParameter("to", OpenApiTypes.DATE, description="Last day (default: today, UTC)."),
    OpenApiParameter("currency", str, description="Lower-case ISO code (default: every currency)."),
    OpenApiParameter("interval", str, enum=["month"], description="Only `month`."),
]
BUCKET_FIELDS = {
    "current": "current",
    "1-30": "days_1_30",
    "31-60": "days_31_60",
    "61-90": "days_61_90",
    "90+": "days_over_90",
}


class AnalyticsApi(BaseApiView):
    """Platform staff only (finance, support, read_only and platform keys): figures across tenants,
    whatever tenant an X-Tenant-ID names; a tenant's credential gets 403."""

    tenant_required = False
    read_grants = STAFF_READ | {"platform"}

    def query(self, request) -> dict:
        query = s.AnalyticsQuery(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        return query.validated_data

    def figures(self, request):
        q = self.query(request)
        return selectors.monthly_figures(start=q["start"], end=q["end"], currency=q.get("currency"))


def _rate(value) -> str | None:
    return None if value is None else str(value)


class MrrApi(AnalyticsApi):
    @extend_schema(
        parameters=PARAMETERS,
        responses={200: s.MrrOutput(many=True)},
        tags=["analytics"],
        summary="MRR, ARR, paying accounts, ARPA, usage revenue and status counts per month",
    )
    def get(self, request):
        rows = [
            {
                "month": f.month.strftime("%Y-%m"),
                "currency": f.currency,
                "mrr": f.mrr,
                "arr": f.arr,
                "paying_accounts": f.paying,
                "arpa": f.arpa,
                "usage_revenue": f.usage_revenue,
                "subscriptions": {k: f.statuses.get(k, 0) for k in selectors.STATUS_COUNTED},
            }
            for f in self.figures(request)
        ]
        return Response(s.MrrOutput(rows, many=True).data)


class MovementsApi(AnalyticsApi):
    @extend_schema(
        parameters=PARAMETERS,
        responses={200: s.MovementOutput(many=True)},
        tags=["analytics"],
        summary="MRR movements per month: new, expansion, contraction, churn, reactivation",
    )
    def get(self, request):
        rows = [
            {
                "month": f.month.strftime("%Y-%m"),
                "currency": f.currency,
                "mrr_start": f.mrr_start,
                **f.amounts,
                "net": f.net_movement,
                "mrr_end": f.mrr,
                "counts": f.counts,
            }
            for f in self.figures(request)
        ]
        return Response(s.MovementOutput(rows, many=True).data)


class ChurnApi(AnalyticsApi):
    @extend_schema(
        parameters=PARAMETERS,
        responses={200: s.ChurnOutput(many=True)},
        tags=["analytics"],
        summary="Churn, retention, trial conversion, payment recovery, cash and refunds per month",
    )
    def get(self, request):
        rows = [
            {
                "month": f.month.strftime("%Y-%m"),
                "currency": f.currency,
                "mrr_start": f.mrr_start,
                "paying_accounts_start": f.paying_start,
                "churned_accounts": f.counts["churn"],
                "churned_mrr": f.churned_mrr,
                "contraction_mrr": f.contraction_mrr,
                "logo_churn_rate": _rate(f.logo_churn_rate),
                "revenue_churn_rate": _rate(f.revenue_churn_rate),
                "gross_revenue_retention": _rate(f.gross_revenue_retention),
                "net_revenue_retention": _rate(f.net_revenue_retention),
                "trials_ended": f.trials_ended,
                "trials_converted": f.trials_converted,
                "trial_conversion_rate": _rate(f.trial_conversion_rate),
                "failed_invoices": f.failed_invoices,
                "recovered_invoices": f.recovered_invoices,
                "recovery_rate": _rate(f.recovery_rate),
                "cash_collected": f.cash_collected,
                "refunds": f.refunds,
            }
            for f in self.figures(request)
        ]
        return Response(s.ChurnOutput(rows, many=True).data)


class ReceivablesApi(AnalyticsApi):
    @extend_schema(
        parameters=PARAMETERS,
        responses={200: s.ReceivablesOutput(many=True)},
        tags=["analytics"],
        summary="Accounts receivable ageing at `to`: open invoices by days past due",
    )
    def get(self, request):
        q = self.query(request)
        ageing = selectors.receivables(as_of=q["end"], currency=q.get("currency"))
        rows = []
        for currency, buckets in sorted(ageing.items()):
            row = {"currency": currency, "as_of": q["end"]}
            row["total"] = sum(b["amount"] for b in buckets.values())
            for bucket, name in BUCKET_FIELDS.items():
                row[name] = {**buckets[bucket], "currency": currency}
            rows.append(row)
        return Response(s.ReceivablesOutput(rows, many=True).data)
