"""The entitlements API: the tenant's effective features and limits."""

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from billing_project.api.permissions import DEFAULT_READ
from billing_project.api.views import BaseApiView
from entitlements import selectors
from entitlements.api import serializers as s


class EntitlementsApi(BaseApiView):
    read_grants = DEFAULT_READ | {"ingest"}

    @extend_schema(
        responses={200: s.EntitlementsOutput},
        tags=["entitlements"],
        summary="The tenant's effective plan: boolean features (with display names) and limits",
    )
    def get(self, request):
        return Response(
            s.EntitlementsOutput(selectors.entitlements_effective(tenant=request.auth.tenant)).data
        )
