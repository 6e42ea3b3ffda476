from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from billing_project.api.views import BaseApiView
from subscriptions import selectors
from subscriptions.api.serializers import PlanOutput


class PlanListApi(BaseApiView):
    # The catalog is public: pricing pages and signup flows read it without a credential.
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(responses={200: PlanOutput(many=True)}, tags=["plans"], summary="Public plans, by price")
    def get(self, request):
        return Response(PlanOutput(selectors.plan_list_public(), many=True).data)
