from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from billing_details import selectors, services
from billing_details.api.serializers import (
    BillingDetailsInput,
    BillingDetailsOutput,
    BillingDetailsReplaceInput,
)
from billing_project.api.views import BaseApiView


class BillingDetailsApi(BaseApiView):
    """The tenant's billing details: printed on its invoices as the buyer, kept on its Stripe customer."""

    @extend_schema(
        responses={200: BillingDetailsOutput},
        tags=["tenants"],
        summary="The tenant's billing details (legal name, invoice emails, address, tax IDs, PO)",
    )
    def get(self, request):
        return Response(
            BillingDetailsOutput(selectors.billing_details_get(tenant=request.auth.tenant)).data
        )

    @extend_schema(
        request=BillingDetailsInput,
        responses={200: BillingDetailsOutput},
        tags=["tenants"],
        summary="Change billing details (absent fields stay, also each address line); synced to "
        "Stripe, unpaid invoice PDFs rendered again",
    )
    def patch(self, request):
        return self._update(request, BillingDetailsInput(data=request.data, partial=True))

    @extend_schema(
        request=BillingDetailsReplaceInput,
        responses={200: BillingDetailsOutput},
        tags=["tenants"],
        summary="Replace the billing details (absent fields are cleared); synced to Stripe, unpaid "
        "invoice PDFs rendered again",
    )
    def put(self, request):
        return self._update(request, BillingDetailsReplaceInput(data=request.data), replace=True)

    def _update(self, request, data, replace: bool = False):
        data.is_valid(raise_exception=True)
        details = services.billing_details_update(
            tenant=request.auth.tenant,
            data=data.validated_data,
            actor=request.auth.actor,
            replace=replace,
        )
        return Response(BillingDetailsOutput(details).data)
