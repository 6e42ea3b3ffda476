"""The spend budget API: thin views over budgets' selectors and services."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.response import Response

from billing_project.api.fields import exact_minor
from billing_project.api.views import BaseApiView
from budgets import selectors, services
from budgets.api import serializers as s


class BudgetApi(BaseApiView):
    # Roles as elsewhere (API.md): every role reads; owners, billing admins and finance staff write.

    @extend_schema(
        responses={200: s.BudgetOutput},
        tags=["budgets"],
        summary="The monthly spend budget with this period's spend, projection and alerts sent "
        "(404 budget_not_set without one)",
    )
    def get(self, request):
        view = selectors.budget_view(tenant=request.auth.tenant)
        if view is None:
            raise services.budget_not_set()
        return Response(s.BudgetOutput(view).data)

    @extend_schema(
        request=s.BudgetInput,
        responses={200: s.BudgetOutput},
        tags=["budgets"],
        summary="Set or change the monthly spend budget (alerts at 50/80/100%, optional hard cap)",
    )
    def put(self, request):
        data = s.BudgetInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        tenant = request.auth.tenant
        services.budget_set(
            tenant=tenant,
            amount=exact_minor(values["amount"], values["currency"]),
            currency=values["currency"],
            hard_cap=values["hard_cap"],
            actor=request.auth.actor,
        )
        return Response(s.BudgetOutput(selectors.budget_view(tenant=tenant)).data)

    @extend_schema(
        request=None,
        responses={204: OpenApiResponse(description="The budget and its hard cap are removed.")},
        tags=["budgets"],
        summary="Remove the spend budget (404 budget_not_set without one)",
    )
    def delete(self, request):
        services.budget_delete(tenant=request.auth.tenant, actor=request.auth.actor)
        return Response(status=204)
