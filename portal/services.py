"""Writes of the portal: signing in. Everything else the portal changes goes through the owning app's services."""

from django.contrib.auth import authenticate

from portal.selectors import member_get
from tenants.models import Tenant, User
from tenants.services.auth import AuthenticationError, login_attempt


def portal_login(*, tenant: Tenant, email: str, password: str, ip: str) -> User:
    """The member of `tenant` with this email and password; AuthenticationError otherwise, RateLimited
    when throttled.

    Failures count in the API's login throttle, so the portal is no way around it. A valid user who is
    not a member of this tenant gets the same message as a wrong password: the portal of one tenant
    must not reveal who has an account elsewhere.
    """

    def verify() -> User:
        user = authenticate(email=email.strip().lower(), password=password)
        if user is None or not user.is_active or member_get(tenant=tenant, user=user) is None:
            raise AuthenticationError()
        return user

    return login_attempt(email=email, ip=ip, verify=verify)
