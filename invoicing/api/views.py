"""The invoice API: thin views over invoicing's selectors and services."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response

from billing_project.api.exceptions import NotFound
from billing_project.api.fields import exact_minor
from billing_project.api.views import BaseApiView, BaseListApiView
from invoicing import selectors
from invoicing.api import serializers as s
from invoicing.http import document_response
from invoicing.services import documents as document_services
from invoicing.services import finance, payments

FINANCE_ONLY = frozenset({"staff:finance"})


def _invoice(request, invoice_id: str):
    invoice = selectors.invoice_get(tenant=request.auth.tenant, invoice_id=invoice_id)
    if invoice is None:
        raise NotFound("No such invoice.")
    return invoice


def _actor(request) -> dict:
    return {"tenant": request.auth.tenant, "actor": request.auth.actor}


class InvoiceListApi(BaseListApiView):
    ordering = "-created"

    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, enum=["open", "paid", "void", "uncollectible"]),
            OpenApiParameter(
                "from", OpenApiTypes.DATETIME, description="Created at or after (ISO 8601)."
            ),
            OpenApiParameter("to", OpenApiTypes.DATETIME, description="Created before (ISO 8601)."),
        ],
        responses={200: s.InvoiceOutput(many=True)},
        tags=["invoices"],
        summary="The tenant's invoices, newest first",
    )
    def get(self, request):
        query = s.InvoiceListFilter(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        values = query.validated_data
        queryset = selectors.invoice_queryset(
            tenant=request.auth.tenant,
            status=values.get("status"),
            created_from=values.get("from_"),
            created_to=values.get("to"),
        )
        page = self.paginate_queryset(queryset)
        states = selectors.invoice_states(invoice_ids=[row.id for row in page])
        views = [selectors.invoice_view(row.stripe_data, state=states.get(row.id)) for row in page]
        return self.get_paginated_response(
            s.InvoiceOutput(views, many=True, context={"request": request}).data
        )


class InvoiceDetailApi(BaseApiView):
    @extend_schema(
        responses={200: s.InvoiceDetailOutput},
        tags=["invoices"],
        summary="One invoice with its lines",
    )
    def get(self, request, invoice_id):
        row = _invoice(request, invoice_id)
        state = selectors.invoice_states(invoice_ids=[row.id]).get(row.id)
        view = selectors.invoice_view(row.stripe_data, with_lines=True, state=state)
        return Response(s.InvoiceDetailOutput(view, context={"request": request}).data)


class InvoicePdfApi(BaseApiView):
    @extend_schema(
        responses={(200, "application/pdf"): bytes},
        tags=["invoices"],
        summary="The invoice's branded PDF (404 pdf_not_ready while it renders)",
    )
    def get(self, request, invoice_id):
        row = _invoice(request, invoice_id)
        document = document_services.document_ready_get(
            tenant=request.auth.tenant, invoice_id=row.id
        )
        if document is None:
            raise NotFound(
                "The PDF is being rendered; retry in a few seconds.",
                code="pdf_not_ready",
                headers={"Retry-After": "5"},
            )
        return document_response(document, invoice=row, disposition="inline")


class InvoicePayApi(BaseApiView):
    @extend_schema(
        request=s.InvoicePayInput,
        responses={200: s.InvoiceActionOutput},
        tags=["invoices"],
        summary="Pay now with the default or a given card (409 invoice_not_payable, 402 card_declined, "
        "402 authentication_required with the PaymentIntent's client_secret)",
    )
    def post(self, request, invoice_id):
        data = s.InvoicePayInput(data=request.data)
        data.is_valid(raise_exception=True)
        _invoice(request, invoice_id)
        paid = payments.invoice_pay(
            invoice_id=invoice_id,
            request_key=request.headers.get("Idempotency-Key"),
            **_actor(request),
            **data.validated_data,
        )
        return Response(s.InvoiceActionOutput(paid).data)


class RefundCreateApi(BaseApiView):
    write_grants = FINANCE_ONLY

    @extend_schema(
        request=s.RefundCreateInput,
        responses={201: s.RefundOutput},
        tags=["invoices"],
        summary="Refund a paid invoice (platform finance; pending_approval above the threshold)",
    )
    def post(self, request, invoice_id):
        data = s.RefundCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        row = _invoice(request, invoice_id)
        amount = data.validated_data.get("amount")
        refund = finance.refund_create(
            invoice_id=invoice_id,
            reason=data.validated_data["reason"],
            amount=None if amount is None else exact_minor(amount, row.stripe_data["currency"]),
            request_key=request.headers.get("Idempotency-Key"),
            **_actor(request),
        )
        return Response(s.RefundOutput(refund).data, status=201)


class RefundDecisionApi(BaseApiView):
    write_grants = FINANCE_ONLY
    decision = "approve"

    @extend_schema(
        request=None,
        responses={200: s.RefundOutput},
        tags=["invoices"],
        summary="Approve or reject a pending refund (a second finance user)",
    )
    def post(self, request, refund_id):
        service = finance.refund_approve if self.decision == "approve" else finance.refund_reject
        refund = service(refund_id=refund_id, **_actor(request))
        return Response(s.RefundOutput(refund).data)


class CreditNoteCreateApi(BaseApiView):
    write_grants = FINANCE_ONLY

    @extend_schema(
        request=s.CreditNoteCreateInput,
        responses={201: s.CreditNoteOutput},
        tags=["invoices"],
        summary="Credit note on an open invoice (platform finance)",
    )
    def post(self, request, invoice_id):
        data = s.CreditNoteCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        row = _invoice(request, invoice_id)
        note = finance.credit_note_create(
            invoice_id=invoice_id,
            amount=exact_minor(data.validated_data["amount"], row.stripe_data["currency"]),
            reason=data.validated_data["reason"],
            request_key=request.headers.get("Idempotency-Key"),
            **_actor(request),
        )
        return Response(s.CreditNoteOutput(note).data, status=201)


class AdjustmentCreateApi(BaseApiView):
    write_grants = FINANCE_ONLY

    @extend_schema(
        request=s.AdjustmentCreateInput,
        responses={201: s.AdjustmentOutput},
        tags=["invoices"],
        summary="A one-off line on the next invoice (negative: a credit; platform finance)",
    )
    def post(self, request):
        data = s.AdjustmentCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        adjustment = finance.adjustment_create(
            request_key=request.headers.get("Idempotency-Key"),
            **data.validated_data,
            **_actor(request),
        )
        return Response(s.AdjustmentOutput(adjustment).data, status=201)


class InvoiceCloseApi(BaseApiView):
    write_grants = FINANCE_ONLY
    action = "void"

    @extend_schema(
        request=None,
        responses={200: s.InvoiceActionOutput},
        tags=["invoices"],
        summary="Void / mark uncollectible an open invoice (platform finance; 409 invoice_not_open)",
    )
    def post(self, request, invoice_id):
        _invoice(request, invoice_id)
        service = (
            finance.invoice_void if self.action == "void" else finance.invoice_mark_uncollectible
        )
        return Response(
            s.InvoiceActionOutput(service(invoice_id=invoice_id, **_actor(request))).data
        )
