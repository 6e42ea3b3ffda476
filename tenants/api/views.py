"""Auth, API keys and tenants endpoints. Thin: parse, call one service or selector, render."""

from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from billing_project.api.permissions import OWNER_ONLY, PLATFORM_ADMIN, STAFF_READ
from billing_project.api.views import BaseApiView, BaseListApiView
from billing_project.client_ip import client_ip
from tenants import selectors, services
from tenants.api import serializers as s


class LoginApi(BaseApiView):
    idempotency_enabled = False
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        request=s.LoginInput,
        responses={200: s.TokenOutput},
        tags=["auth"],
        summary="Exchange email and password for tokens",
    )
    def post(self, request):
        data = s.LoginInput(data=request.data)
        data.is_valid(raise_exception=True)
        tokens = services.auth_login(
            email=data.validated_data["email"],
            password=data.validated_data["password"],
            ip=client_ip(request),
            tenant_slug=data.validated_data.get("tenant"),
        )
        return Response(tokens)


class RefreshApi(BaseApiView):
    idempotency_enabled = False
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        request=s.RefreshInput,
        responses={200: s.TokenOutput},
        tags=["auth"],
        summary="Exchange a refresh token for a new token pair (the old one is revoked)",
    )
    def post(self, request):
        data = s.RefreshInput(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(services.auth_refresh(refresh_token=data.validated_data["refresh_token"]))


class ApiKeyListCreateApi(BaseListApiView):
    read_grants = OWNER_ONLY
    write_grants = OWNER_ONLY

    def idempotency_stored_body(self, data):
        # The secret is shown once: a replay of the creation (same Idempotency-Key and body) answers
        # the key with `key: null`, and the secret is never stored with the replayable response.
        return {**data, "key": None}

    @extend_schema(
        responses={200: s.ApiKeyOutput(many=True)}, tags=["api-keys"], summary="List live API keys"
    )
    def get(self, request):
        return self.paged_response(
            selectors.api_key_list(tenant=request.auth.tenant), s.ApiKeyOutput
        )

    @extend_schema(
        request=s.ApiKeyInput,
        responses={201: s.ApiKeyCreatedOutput},
        tags=["api-keys"],
        summary="Create an API key (the secret is shown once)",
        description="A replay with the same Idempotency-Key and body answers the same key with "
        "`key: null` and `Idempotent-Replayed: true`: the secret is never shown twice. "
        "If the first response was lost, revoke that key and create another.",
    )
    def post(self, request):
        data = s.ApiKeyInput(data=request.data)
        data.is_valid(raise_exception=True)
        api_key, secret = services.api_key_create(
            tenant=request.auth.tenant,
            created_by=request.auth.user,
            actor=request.auth.actor,
            **data.validated_data,
        )
        api_key.key = secret
        return Response(s.ApiKeyCreatedOutput(api_key).data, status=201)


class ApiKeyDetailApi(BaseApiView):
    read_grants = OWNER_ONLY
    write_grants = OWNER_ONLY

    @extend_schema(responses={204: None}, tags=["api-keys"], summary="Revoke an API key")
    def delete(self, request, api_key_id):
        services.api_key_revoke(
            tenant=request.auth.tenant, api_key_id=api_key_id, actor=request.auth.actor
        )
        return Response(status=204)


class TenantListCreateApi(BaseListApiView):
    tenant_required = False
    read_grants = STAFF_READ
    write_grants = PLATFORM_ADMIN

    @extend_schema(
        responses={200: s.TenantOutput(many=True)},
        tags=["tenants"],
        summary="List tenants (platform staff)",
    )
    def get(self, request):
        return self.paged_response(selectors.tenant_list(), s.TenantOutput)

    @extend_schema(
        request=s.TenantInput,
        tags=["tenants"],
        summary="Provision a tenant (platform staff or platform key)",
        responses={201: s.TenantOutput},
    )
    def post(self, request):
        data = s.TenantInput(data=request.data)
        data.is_valid(raise_exception=True)
        owner = data.validated_data.get("owner") or {}
        tenant = services.tenant_create(
            name=data.validated_data["name"],
            slug=data.validated_data["slug"],
            email=data.validated_data["email"],
            locale=data.validated_data["locale"],
            owner_email=owner.get("email"),
            owner_password=owner.get("password"),
            actor=request.auth.actor,
        )
        return Response(s.TenantOutput(tenant).data, status=201)


class CurrentTenantApi(BaseApiView):
    @extend_schema(
        responses={200: s.CurrentTenantOutput},
        tags=["tenants"],
        summary="The credential's tenant, with its billing status",
    )
    def get(self, request):
        tenant = request.auth.tenant
        data = selectors.tenant_current_rendered(
            tenant=tenant,
            render=lambda status: (
                s.CurrentTenantOutput(tenant, context={"billing_status": status}).data
            ),
        )
        return Response(data)
