"""Usage endpoints. Thin: parse, call one service or selector, render."""

from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.http import StreamingHttpResponse
from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, PolymorphicProxySerializer, extend_schema
from rest_framework.response import Response

from billing_project.api.exceptions import InvalidRequest
from billing_project.api.fields import timestamp_to_utc
from billing_project.api.permissions import DEFAULT_READ
from billing_project.api.views import BaseApiView, BaseListApiView, idempotency_key_get
from billing_project.replica import stream_from_replica
from budgets.selectors import budget_guard
from entitlements.api.serializers import FeatureCheckOutput
from usage import selectors, services
from usage.api import serializers as s
from usage.reports import csv_lines

INGEST_GRANTS = frozenset({"owner", "billing_admin", "ingest", "staff:finance"})


class UsageIngestApi(BaseApiView):
    # Idempotency-Key and transaction_id are kept on the event row itself (unique indexes), which
    # also answers concurrent repeats with the original event instead of an "in progress" 409.
    idempotency_enabled = False
    idempotency_replay_status = 200
    write_grants = INGEST_GRANTS

    @extend_schema(
        request=s.UsageEventInput,
        responses={201: s.UsageEventOutput, 200: s.UsageEventOutput},
        parameters=[OpenApiParameter("Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER)],
        tags=["usage"],
        summary="Record a usage event (a repeat answers 200 with the original)",
    )
    def post(self, request):
        # A hard-capped spend budget refuses usage (402 budget_exceeded): one Redis GET.
        budget_guard(tenant=request.auth.tenant)
        event, created = services.usage_event_ingest(
            tenant=request.auth.tenant,
            data=request.data,
            idempotency_key=idempotency_key_get(request),
        )
        # A repeat (same Idempotency-Key and body, or same transaction_id) says so, as every replay does.
        headers = None if created else {"Idempotent-Replayed": "true"}
        return Response(
            s.UsageEventOutput(event).data, status=201 if created else 200, headers=headers
        )


class UsageBatchApi(BaseApiView):
    idempotency_replay_status = 200
    write_grants = INGEST_GRANTS

    @extend_schema(
        request=s.UsageBatchInput,
        responses={200: s.UsageBatchOutput},
        tags=["usage"],
        summary="Record up to 1,000 usage events; good events are kept when others are rejected",
    )
    def post(self, request):
        budget_guard(tenant=request.auth.tenant)
        body = request.data
        if not isinstance(body, dict):
            raise InvalidRequest('The body is {"events": [...]}.')
        detail = {name: ["Unknown field."] for name in sorted(set(body) - {"events"})}
        if "events" not in body:
            detail["events"] = ["This field is required."]
        if detail:
            raise InvalidRequest('The body is {"events": [...]}.', detail=detail)
        results = services.usage_event_ingest_batch(
            tenant=request.auth.tenant, events=body["events"]
        )
        counts = {"accepted": 0, "duplicate": 0, "rejected": 0}
        rows = []
        for index, result in enumerate(results):
            counts[result.status] += 1
            rows.append(
                {
                    "index": index,
                    "status": result.status,
                    "event_id": (result.event or {}).get("event_id"),
                    "error": result.error,
                }
            )
        return Response(
            {
                "accepted": counts["accepted"],
                "duplicates": counts["duplicate"],
                "rejected": counts["rejected"],
                "results": rows,
            }
        )


class UsageSummaryApi(BaseApiView):
    read_grants = DEFAULT_READ

    @extend_schema(
        parameters=[OpenApiParameter("period", str, description="current (default) or YYYY-MM")],
        responses={200: s.UsageSummaryOutput(many=True)},
        tags=["usage"],
        summary="Usage per resource in a billing period, with limits and status",
    )
    def get(self, request):
        summary = selectors.usage_summary_get(
            tenant=request.auth.tenant, period=request.query_params.get("period")
        )
        return Response(s.UsageSummaryOutput(summary, many=True).data)


def _moment(name: str, raw: str | None) -> datetime | None:
    if raw in (None, ""):
        return None
    try:
        # parse_* raise ValueError for well-formed but impossible values (month 13, offset +24:00).
        value = parse_datetime(raw) if "T" in raw else None
        if value is None:
            day = parse_date(raw) if "T" not in raw else None
            if day is None:
                raise ValueError("An ISO 8601 date or timestamp, e.g. 2024-01-01T00:00:00Z.")
            value = datetime(day.year, day.month, day.day)
        return timestamp_to_utc(value)
    except ValueError as exc:
        raise InvalidRequest(f"{name}: {exc}", detail={name: [str(exc)]}) from exc


def _flag(name: str, raw: str | None) -> bool | None:
    if raw in (None, ""):
        return None
    if raw.lower() not in ("true", "false", "1", "0"):
        raise InvalidRequest(
            f"{name} must be true or false.", detail={name: ["Use true or false."]}
        )
    return raw.lower() in ("true", "1")


EVENT_FILTERS = [
    OpenApiParameter("resource_type", str),
    OpenApiParameter("source", str),
    OpenApiParameter("transaction_id", str),
    OpenApiParameter("late", bool),
    OpenApiParameter("from", OpenApiTypes.DATETIME, description="period_start >="),
    OpenApiParameter("to", OpenApiTypes.DATETIME, description="period_start <"),
]


class UsageEventListApi(BaseListApiView):
    read_grants = DEFAULT_READ
    ordering = "-id"

    @extend_schema(
        parameters=EVENT_FILTERS,
        responses={200: s.UsageEventOutput(many=True)},
        tags=["usage"],
        summary="The tenant's usage events, newest first",
    )
    def get(self, request):
        q = request.query_params
        filters = {
            "resource_type": q.get("resource_type") or None,
            "source": q.get("source") or None,
            "transaction_id": q.get("transaction_id") or None,
            "late": _flag("late", q.get("late")),
            "from": _moment("from", q.get("from")),
            "to": _moment("to", q.get("to")),
        }
        return self.paged_response(
            selectors.usage_event_list(tenant=request.auth.tenant, filters=filters),
            s.UsageEventOutput,
        )


class UsageReportCsvApi(BaseApiView):
    read_grants = DEFAULT_READ

    @extend_schema(
        parameters=[
            OpenApiParameter("from", OpenApiTypes.DATETIME, description="default: period start"),
            OpenApiParameter("to", OpenApiTypes.DATETIME, description="default: period end"),
            OpenApiParameter("resource_type", str),
        ],
        responses={(200, "text/csv"): OpenApiTypes.STR},
        tags=["usage"],
        summary="The events of a time range as CSV (streamed)",
    )
    def get(self, request):
        tenant = request.auth.tenant
        start, end = selectors.period_resolve(tenant=tenant, period="current")
        start = _moment("from", request.query_params.get("from")) or start
        end = _moment("to", request.query_params.get("to")) or end
        if end <= start:
            raise InvalidRequest("to must be after from.", detail={"to": ["Must be after from."]})
        rows = selectors.usage_report_rows(
            tenant=tenant,
            start=start,
            end=end,
            resource_type=request.query_params.get("resource_type") or None,
        )
        # Read while it streams, on the replica when one is configured (an export may be large).
        response = StreamingHttpResponse(
            csv_lines(stream_from_replica(rows)), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = (
            f'attachment; filename="usage-{start:%Y%m%d}-{end:%Y%m%d}.csv"'
        )
        return response


def _feature_check(tenant, key: str) -> dict:
    from entitlements import selectors as entitlement_selectors

    if not entitlement_selectors.feature_known(key):
        raise InvalidRequest(
            f"No feature {key[:50]!r}.", code="unknown_feature", detail={"feature": ["Unknown."]}
        )
    return entitlement_selectors.feature_check(tenant=tenant, key=key)


class EntitlementCheckApi(BaseApiView):
    read_grants = DEFAULT_READ | {"ingest"}

    @extend_schema(
        parameters=[
            OpenApiParameter("resource", str, description="A limited resource (or `feature`)."),
            OpenApiParameter("quantity", str, description="default 1"),
            OpenApiParameter(
                "feature",
                str,
                description="A boolean feature key (entitlements), instead of `resource`.",
            ),
        ],
        responses={
            200: PolymorphicProxySerializer(
                component_name="EntitlementCheck",
                resource_type_field_name=None,
                serializers=[s.EntitlementCheckOutput, FeatureCheckOutput],
            )
        },
        tags=["usage"],
        summary="May the tenant use this much more of a resource now (from Redis counters), or "
        "does its plan grant this feature?",
    )
    def get(self, request):
        budget_guard(tenant=request.auth.tenant)
        feature = request.query_params.get("feature")
        if feature is not None and "resource" not in request.query_params:
            return Response(FeatureCheckOutput(_feature_check(request.auth.tenant, feature)).data)
        resource = request.query_params.get("resource")
        if not resource:
            raise InvalidRequest(
                "resource is required.", detail={"resource": ["This field is required."]}
            )
        try:
            quantity = Decimal(request.query_params.get("quantity", "1"))
        except InvalidOperation:
            quantity = Decimal("NaN")
        if not quantity.is_finite() or quantity < 0:
            raise InvalidRequest(
                "quantity must be a number >= 0.", detail={"quantity": ["A number >= 0."]}
            )
        check = selectors.entitlement_check(
            tenant=request.auth.tenant, resource=resource, quantity=quantity
        )
        return Response(s.EntitlementCheckOutput(check).data)
