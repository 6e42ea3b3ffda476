"""Who may see a portal page: a signed-in member of the host's tenant whose role may read (GET) or
write (any other method) it.

The session table is shared by every host, so a session is bound to the tenant it signed in on and
the membership is read again on every request: a cookie replayed on another tenant's host, or the
session of a member removed since, gets the login page.
"""

from functools import wraps

from django.contrib.auth import login
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect, render
from django.urls import reverse

from portal.selectors import member_get
from tenants.models import Membership, Role, Tenant, User

SESSION_TENANT_KEY = "portal_tenant_id"
READ_ROLES = frozenset(Role.values)
WRITE_ROLES = frozenset({Role.OWNER, Role.BILLING_ADMIN})
OWNER_ROLES = frozenset({Role.OWNER})
SAFE_METHODS = ("GET", "HEAD")


def session_login(request, user: User) -> None:
    login(request, user)  # rotates the session key, so a planted session id is worthless
    request.session[SESSION_TENANT_KEY] = request.tenant.tenant_id


def request_membership(request) -> Membership | None:
    """The membership behind this request's session on this host, or None."""
    if (
        not request.user.is_authenticated
        or request.session.get(SESSION_TENANT_KEY) != request.tenant.tenant_id
    ):
        return None
    return member_get(tenant=request.tenant, user=request.user)


def tenant_suspended(request) -> bool:
    return request.tenant.status == Tenant.Status.SUSPENDED


def member_required(view=None, *, read=READ_ROLES, write=WRITE_ROLES, while_suspended=False):
    """Portal view decorator: login page for strangers, 403 page for a role that may not do this;
    sets request.membership for the view and the templates. While the tenant is suspended only the
    views marked `while_suspended` (paying: invoices, payment methods) open; the others redirect to
    the invoices."""

    def decorator(view_func):
        @wraps(view_func)
        def wrapper(request, *args, **kwargs):
            membership = request_membership(request)
            if membership is None:
                return redirect_to_login(request.get_full_path(), reverse("portal:login"))
            if tenant_suspended(request) and not while_suspended:
                return redirect("portal:invoices")
            request.membership = membership
            if membership.role not in (read if request.method in SAFE_METHODS else write):
                return render(request, "portal/forbidden.html", status=403)
            return view_func(request, *args, **kwargs)

        return wrapper

    return decorator(view) if view is not None else decorator
