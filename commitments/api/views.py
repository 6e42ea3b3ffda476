"""The commitments API: thin views over commitments' selectors."""

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from billing_project.api.views import BaseApiView
from billing_project.timestamps import from_ts
from commitments import selectors
from commitments.api import serializers as s


class CommitmentsApi(BaseApiView):
    @extend_schema(
        responses={200: s.CommitmentsOutput},
        tags=["commitments"],
        summary="The minimum commitment and usage billing threshold, this period's spend and "
        "usage charges so far, past true-ups and threshold invoices",
    )
    def get(self, request):
        tenant = request.auth.tenant
        terms = selectors.terms_get(tenant=tenant)
        progress = selectors.commitment_progress(tenant=tenant)
        body = {
            "currency": terms.currency,
            "minimum_commitment": terms.minimum_commitment,
            "usage_threshold": terms.usage_threshold,
            "period_start": from_ts(progress.period_start) if progress else None,
            "period_end": from_ts(progress.period_end) if progress else None,
            "spent": progress.spent if progress else None,
            "usage": progress.usage if progress else None,
            "true_ups": selectors.true_up_list(tenant=tenant)[:24],
            "threshold_invoices": selectors.threshold_invoice_list(tenant=tenant)[:50],
        }
        return Response(s.CommitmentsOutput(body).data)
