"""Login and token refresh (JWT through djangorestframework-simplejwt), with brute-force throttling."""

import hashlib
import time
import uuid

from django.conf import settings
from django.contrib.auth import authenticate
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import RefreshToken

from billing_project.api.exceptions import DomainError, RateLimited
from billing_project.redis import get_redis
from tenants import selectors
from tenants.models import User


class AuthenticationError(DomainError):
    status_code = 401
    code = "authentication_failed"
    default_message = "Invalid email or password."


class LoginThrottle:
    """Failed logins in a sliding window, per email and (wider) per client IP.

    A Redis sorted set per key holds the failure times; the window slides, so the 6th failure within
    15 minutes of the first is refused, and Retry-After says when the oldest failure leaves the window.
    """

    def __init__(self, *, email: str, ip: str):
        email_digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
        window = settings.LOGIN_FAILURE_WINDOW_SECONDS
        self.window = window
        prefix = settings.CACHES["shared"]["KEY_PREFIX"]
        self.buckets = [
            (f"{prefix}:login-fail:email:{email_digest}", settings.LOGIN_FAILURES_PER_EMAIL),
            (f"{prefix}:login-fail:ip:{ip}", settings.LOGIN_FAILURES_PER_IP),
        ]

    def check(self) -> None:
        now = time.time()
        client = get_redis()
        for key, limit in self.buckets:
            client.zremrangebyscore(key, 0, now - self.window)
            if client.zcard(key) >= limit:
                oldest = client.zrange(key, 0, 0, withscores=True)
                retry_after = int(oldest[0][1] + self.window - now) + 1 if oldest else self.window
                raise RateLimited("Too many failed logins; try again later.", retry_after=retry_after)

    def fail(self) -> None:
        now = time.time()
        pipe = get_redis().pipeline()
        for key, _ in self.buckets:
            pipe.zadd(key, {uuid.uuid4().hex: now})
            pipe.expire(key, self.window)
        pipe.execute()

    def succeed(self) -> None:
        get_redis().delete(self.buckets[0][0])


def _token_pair(user: User, tenant_id: str | None, role: str | None) -> dict:
    refresh = RefreshToken.for_user(user)
    refresh["email"] = user.email
    refresh["tenant_id"] = tenant_id
    refresh["role"] = role
    refresh["staff"] = user.is_staff
    access = refresh.access_token
    return {
        "access_token": str(access),
        "refresh_token": str(refresh),
        "token_type": "Bearer",
        "expires_in": int(settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"].total_seconds()),
    }


def auth_login(*, email: str, password: str, ip: str, tenant_slug: str | None = None) -> dict:
    """Exchange email + password for an access and a refresh token.

    The tokens name the user's tenant (the one given, or the oldest membership) and role; platform
    staff without a membership get a token without tenant. 401 on bad credentials, 429 when throttled.
    """
    throttle = LoginThrottle(email=email, ip=ip)
    throttle.check()
    user = authenticate(email=email.strip().lower(), password=password)
    if user is None or not user.is_active:
        throttle.fail()
        raise AuthenticationError()
    membership = selectors.user_default_membership(user=user, tenant_slug=tenant_slug)
    if membership is None and not user.is_staff:
        throttle.fail()
        raise AuthenticationError("This account has no access to an active tenant.")
    throttle.succeed()
    if membership is None:
        return _token_pair(user, None, None)
    return _token_pair(user, membership.tenant.tenant_id, membership.role)


def auth_refresh(*, refresh_token: str) -> dict:
    """A new token pair for a valid refresh token; the old refresh token is blacklisted (rotation)."""
    try:
        refresh = RefreshToken(refresh_token)
    except TokenError as exc:
        raise AuthenticationError(f"Invalid refresh token: {exc}")
    user = User.objects.filter(pk=refresh.get("user_id"), is_active=True).first()
    if user is None:
        raise AuthenticationError("User not found or inactive.")
    tenant_id = refresh.get("tenant_id")
    role = None
    if tenant_id:
        membership = selectors.membership_get(user=user, tenant_id=tenant_id)
        if membership is None:
            raise AuthenticationError("The membership of this token no longer exists.")
        role = membership.role
    elif not user.is_staff:
        raise AuthenticationError("Token carries no tenant.")
    refresh.blacklist()
    return _token_pair(user, tenant_id, role)
