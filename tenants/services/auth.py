"""Login and token refresh (JWT through djangorestframework-simplejwt), with brute-force throttling."""

import hashlib
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar, cast

import redis
from django.conf import settings
from django.contrib.auth import authenticate
from django.db import DatabaseError, connection, models, transaction
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import RefreshToken

from billing_project.errors import DomainError, RateLimited
from billing_project.redis import get_redis
from tenants import selectors
from tenants.models import Membership, User

T = TypeVar("T")


class AuthenticationError(DomainError):
    status_code = 401
    code = "authentication_failed"
    default_message = "Invalid email or password."


# One atomic step per attempt: drop what left the window, refuse when a bucket is full (answering the
# oldest attempt's time for Retry-After), else count this attempt in every bucket. Checking and then
# recording in two steps let 20-30 parallel wrong passwords all through (issue 14).
_ACQUIRE = """
local now, window, member = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
for i, key in ipairs(KEYS) do
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
    if redis.call('ZCARD', key) >= tonumber(ARGV[3 + i]) then
        local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
        return oldest[2] or ARGV[1]
    end
end
for _, key in ipairs(KEYS) do
    redis.call('ZADD', key, now, member)
    redis.call('EXPIRE', key, window)
end
return false
"""


class LoginThrottle:
    """Login attempts in a sliding window, per email and (wider) per client IP, shared by the API, the
    portal and the admin (login_attempt below).

    `acquire` counts the attempt before the password is checked, atomically with the check of the limit,
    so at most LIMIT passwords are ever tried in a window however many arrive at once; a wrong password
    leaves its attempt counted, a right one removes it (and clears the email's bucket). The 6th attempt
    within 15 minutes of the first failure is refused, and Retry-After says when the oldest leaves the
    window. Redis keeps the buckets; when Redis does not answer, a table in PostgreSQL does (LoginAttempt).
    """

    def __init__(self, *, email: str, ip: str):
        email_digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
        self.window = settings.LOGIN_FAILURE_WINDOW_SECONDS
        prefix = settings.CACHES["shared"]["KEY_PREFIX"]
        self.buckets = [
            (f"{prefix}:login-fail:email:{email_digest}", settings.LOGIN_FAILURES_PER_EMAIL),
            (f"{prefix}:login-fail:ip:{ip}", settings.LOGIN_FAILURES_PER_IP),
        ]
        self.token = uuid.uuid4().hex
        self.in_database = False

    def acquire(self) -> None:
        """Count this attempt, or raise RateLimited if a bucket is full."""
        now = time.time()
        try:
            oldest = get_redis().eval(
                _ACQUIRE,
                len(self.buckets),
                *(key for key, _ in self.buckets),
                now,
                self.window,
                self.token,
                *(limit for _, limit in self.buckets),
            )
        except redis.RedisError:
            self.in_database = True
            oldest = self._acquire_in_database(now)
        if oldest is not None:
            raise RateLimited(
                "Too many failed logins; try again later.",
                retry_after=int(float(oldest) + self.window - now) + 1,
            )

    def _acquire_in_database(self, now: float) -> float | None:
        from tenants.models import LoginAttempt

        created = datetime.fromtimestamp(now, tz=UTC)
        cutoff = created - timedelta(seconds=self.window)
        with transaction.atomic():
            with (
                connection.cursor() as cursor
            ):  # the same one-step guarantee: one attempt per bucket at a time
                for key in sorted(key for key, _ in self.buckets):
                    cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [key])
            LoginAttempt.objects.filter(created__lt=cutoff).delete()
            for key, limit in self.buckets:
                attempts = LoginAttempt.objects.filter(bucket=key)
                if attempts.count() >= limit:
                    return (
                        attempts.order_by("created")
                        .values_list("created", flat=True)
                        .first()
                        .timestamp()  # type: ignore[union-attr]  # count() >= limit: the first row exists
                    )
            LoginAttempt.objects.bulk_create(
                [
                    LoginAttempt(bucket=key, token=self.token, created=created)
                    for key, _ in self.buckets
                ]
            )
        return None

    def fail(self) -> None:
        """A wrong password: its attempt stays counted."""

    def succeed(self) -> None:
        """The right password: the email starts afresh and the attempt does not count against the IP."""
        email_key, ip_key = self.buckets[0][0], self.buckets[1][0]
        if not self.in_database:
            try:
                get_redis().pipeline().delete(email_key).zrem(ip_key, self.token).execute()  # type: ignore[attr-defined]  # a pipeline's commands return the pipeline; redis types give the reply
                return
            except redis.RedisError:
                pass
        self._forget_in_database(
            models.Q(bucket=email_key) | models.Q(bucket=ip_key, token=self.token)
        )

    def release(self) -> None:
        """Neither right nor wrong (the check itself failed, say the database): uncount the attempt."""
        if not self.in_database:
            try:
                pipe = get_redis().pipeline()
                for key, _ in self.buckets:
                    pipe.zrem(key, self.token)
                pipe.execute()
                return
            except redis.RedisError:
                pass
        self._forget_in_database(models.Q(token=self.token))

    @staticmethod
    def _forget_in_database(condition: models.Q) -> None:
        from tenants.models import LoginAttempt

        try:
            LoginAttempt.objects.filter(condition).delete()
        except DatabaseError:  # the attempt expires with its window anyway
            pass


def login_attempt(*, email: str, ip: str, verify: Callable[[], T]) -> T:
    """Run `verify` (the password check, raising AuthenticationError on a wrong one) under the login
    throttle: RateLimited before anything is checked when the email or the IP is over its limit. The one
    code path of every sign-in: API, portal and admin, so failures anywhere count everywhere."""
    throttle = LoginThrottle(email=email, ip=ip)
    throttle.acquire()
    try:
        result = verify()
    except AuthenticationError:
        throttle.fail()
        raise
    except BaseException:
        throttle.release()
        raise
    throttle.succeed()
    return result


def _token_pair(user: User, tenant_id: str | None, role: str | None) -> dict[str, Any]:
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
        "expires_in": int(
            cast(timedelta, settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"]).total_seconds()
        ),
    }


def auth_login(
    *, email: str, password: str, ip: str, tenant_slug: str | None = None
) -> dict[str, Any]:
    """Exchange email + password for an access and a refresh token.

    The tokens name the user's tenant (the one given, or the oldest membership) and role; platform
    staff without a membership get a token without tenant. 401 on bad credentials, 429 when throttled.
    """

    def verify() -> tuple[User, Membership | None]:
        user = authenticate(email=email.strip().lower(), password=password)
        if user is None or not user.is_active:
            raise AuthenticationError()
        membership = selectors.user_default_membership(user=user, tenant_slug=tenant_slug)
        if membership is None and not user.is_staff:
            raise AuthenticationError("This account has no access to an active tenant.")
        return user, membership

    user, membership = login_attempt(email=email, ip=ip, verify=verify)
    if membership is None:
        return _token_pair(user, None, None)
    return _token_pair(user, membership.tenant.tenant_id, membership.role)


def auth_refresh(*, refresh_token: str) -> dict[str, Any]:
    """A new token pair for a valid refresh token; the old refresh token is blacklisted (rotation)."""
    try:
        refresh = RefreshToken(refresh_token)  # type: ignore[arg-type]  # simplejwt takes the encoded token (str); its stubs say Token
    except TokenError as exc:
        raise AuthenticationError(f"Invalid refresh token: {exc}") from exc
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
