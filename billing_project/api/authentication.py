"""Who is calling, for which tenant, with which role.

The tenant always comes from the credential (JWT claim or API key), never from a client-chosen
header -- except for platform credentials, which may act on one tenant through `X-Tenant-ID`.
Once known, the request runs in that tenant's schema.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import connection
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication
from rest_framework import exceptions as drf
from rest_framework_simplejwt.exceptions import ExpiredTokenError, TokenError
from rest_framework_simplejwt.tokens import AccessToken
from rest_framework_simplejwt.utils import aware_utcnow

from billing_project.api.exceptions import NotFound, PermissionDeniedError
from tenants import selectors as tenant_selectors
from tenants import services as tenant_services
from tenants.models import ApiKey, Tenant, User

API_KEY_PREFIX = "bk_"
STAFF_GROUPS = ("finance", "support", "read_only")


@dataclass(frozen=True)
class Credential:
    """What a request may do: its tenant (None for a platform credential acting on no tenant) and
    its grants (a tenant role, `ingest`, `platform`, or `staff:<group>`)."""

    kind: str  # "jwt" or "api_key"
    tenant: Tenant | None
    grants: frozenset[str]
    user: User | None = None
    api_key: ApiKey | None = None
    home_tenant: Tenant | None = field(default=None, compare=False)

    @property
    def is_platform(self) -> bool:
        return self.home_tenant is None

    @property
    def role(self) -> str | None:
        for role in ("owner", "billing_admin", "viewer", "ingest", "platform"):
            if role in self.grants:
                return role
        return "staff" if self.grants else None

    @property
    def actor(self) -> str:
        if self.user is not None:
            return self.user.email
        return f"api_key:{self.api_key.prefix}" if self.api_key else "anonymous"


class ApiKeyPrincipal:
    """request.user for API-key requests, so code asking `is_authenticated` gets a true answer."""

    is_authenticated = True
    is_anonymous = False
    is_staff = False

    def __init__(self, api_key: ApiKey):
        self.api_key = api_key
        self.pk = None
        self.email = f"api_key:{api_key.prefix}"

    def __str__(self) -> str:
        return self.email


def _staff_grants(user: User) -> frozenset[str]:
    if user.is_superuser:
        return frozenset({"staff"} | {f"staff:{group}" for group in STAFF_GROUPS})
    groups = set(user.groups.filter(name__in=STAFF_GROUPS).values_list("name", flat=True))
    return frozenset({"staff"} | {f"staff:{group}" for group in groups})


# Access tokens this process verified, by their exact text. Checking a token's HMAC signature and
# claims (PyJWT through simplejwt) cost about 180 us, a visible share of a small API request (issue
# 21); a client sends the same token for its whole lifetime. The same text carries the same claims
# under the same signing key (settings, fixed for the process), so only the expiry, which depends
# on the time, is checked again on every use. Nothing else makes an access token invalid early:
# a removed member or an inactive user is refused by token_principal_get, read on every request.
_verified: dict[str, AccessToken] = {}
_VERIFIED_MAX = 10_000  # a flood of distinct tokens empties the cache instead of growing it


def access_token_verified(raw: str) -> AccessToken:
    """The access token `raw`, verified (TokenError when invalid or expired)."""
    token = _verified.get(raw)
    if token is None:
        token = AccessToken(raw)  # type: ignore[arg-type]  # simplejwt takes the encoded token (str); its stubs say Token
        if len(_verified) >= _VERIFIED_MAX:
            _verified.clear()
        _verified[raw] = token
        return token
    try:
        token.check_exp(current_time=aware_utcnow())
    except TokenError:
        _verified.pop(raw, None)
        raise ExpiredTokenError(_("Token is expired")) from None  # simplejwt's words on decoding
    return token


class CredentialAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <JWT or API key>` or `X-API-Key: <key>`."""

    def authenticate_header(self, request):
        return 'Bearer realm="api"'

    def authenticate(self, request):
        raw = request.headers.get("X-API-Key")
        if not raw:
            header = request.headers.get("Authorization", "")
            scheme, _, value = header.partition(" ")
            if not header:
                return None
            if scheme.lower() != "bearer" or not value.strip():
                raise drf.AuthenticationFailed("Use 'Authorization: Bearer <token>'.")
            raw = value.strip()
        if raw.startswith(API_KEY_PREFIX):
            credential = self._from_api_key(raw)
            principal = ApiKeyPrincipal(credential.api_key)
        else:
            credential = self._from_jwt(raw)
            principal = credential.user
        credential = self._apply_tenant_header(request, credential)
        if credential.tenant is not None:
            connection.set_tenant(credential.tenant)
        else:
            connection.set_schema_to_public()
        return principal, credential

    def _from_api_key(self, raw: str) -> Credential:
        api_key = tenant_selectors.api_key_get_by_secret(secret=raw)
        if api_key is None:
            raise drf.AuthenticationFailed("Invalid or revoked API key.")
        if api_key.tenant is not None and api_key.tenant.status != Tenant.Status.ACTIVE:
            raise drf.AuthenticationFailed("This tenant is not active.")
        tenant_services.api_key_mark_used(api_key=api_key)
        return Credential(
            kind="api_key",
            tenant=api_key.tenant,
            home_tenant=api_key.tenant,
            grants=frozenset({api_key.role}),
            api_key=api_key,
        )

    def _from_jwt(self, raw: str) -> Credential:
        try:
            token = access_token_verified(raw)
        except TokenError as exc:
            raise drf.AuthenticationFailed(f"Invalid token: {exc}") from exc
        tenant_id = token.get("tenant_id")
        user, membership = tenant_selectors.token_principal_get(
            user_id=token.get("user_id"), tenant_id=tenant_id
        )
        if user is None:
            raise drf.AuthenticationFailed("User not found or inactive.")
        if tenant_id:
            # The role is read again on every request: a removed or demoted member loses access
            # at once instead of when the token expires.
            if membership is None or membership.tenant.status != Tenant.Status.ACTIVE:
                raise drf.AuthenticationFailed("No active membership for this token's tenant.")
            return Credential(
                kind="jwt",
                tenant=membership.tenant,
                home_tenant=membership.tenant,
                grants=frozenset({membership.role}),
                user=user,
            )
        if not user.is_staff:
            raise drf.AuthenticationFailed("Token carries no tenant.")
        return Credential(
            kind="jwt", tenant=None, home_tenant=None, grants=_staff_grants(user), user=user
        )

    def _apply_tenant_header(self, request, credential: Credential) -> Credential:
        wanted = request.headers.get("X-Tenant-ID", "").strip()
        if not wanted:
            return credential
        if not credential.is_platform:
            if credential.tenant is not None and wanted in (
                credential.tenant.slug,
                credential.tenant.tenant_id,
            ):
                return credential
            raise PermissionDeniedError("This credential cannot act on another tenant.")
        tenant = tenant_selectors.tenant_get_by_reference(reference=wanted)
        if tenant is None:
            raise NotFound(f"No tenant {wanted!r}.")
        return Credential(
            kind=credential.kind,
            tenant=tenant,
            home_tenant=None,
            grants=credential.grants,
            user=credential.user,
            api_key=credential.api_key,
        )


class CredentialAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "billing_project.api.authentication.CredentialAuthentication"
    name = ["bearerAuth", "apiKeyAuth"]

    def get_security_requirement(self, auto_schema):
        # Alternatives (either header authenticates), so one requirement object per scheme: a
        # single object naming both would tell clients to send both.
        return [{name: []} for name in self.name]

    def get_security_definition(self, auto_schema):
        return [
            {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "JWT or API key",
                "description": "JWT from /api/v1/auth/login, or an API key (bk_...).",
            },
            {"type": "apiKey", "in": "header", "name": "X-API-Key"},
        ]
