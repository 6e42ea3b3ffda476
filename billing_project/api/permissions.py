"""Role checks. A view states which grants may read and which may write; the defaults follow
API.md: every tenant role and staff group reads, owners, billing admins and finance staff write."""

from rest_framework import permissions

from billing_project.api.exceptions import InvalidRequest

TENANT_ROLES = frozenset({"owner", "billing_admin", "viewer"})
STAFF_READ = frozenset({"staff:finance", "staff:support", "staff:read_only"})
DEFAULT_READ = TENANT_ROLES | STAFF_READ
DEFAULT_WRITE = frozenset({"owner", "billing_admin", "staff:finance"})
OWNER_ONLY = frozenset({"owner"})
PLATFORM_ADMIN = frozenset({"platform", "staff:finance"})


class RolePermission(permissions.BasePermission):
    """Views may set `read_grants`, `write_grants` and `tenant_required` (default True)."""

    message = "You do not have permission to perform this action."

    def has_permission(self, request, view):
        credential = request.auth
        if credential is None or not hasattr(credential, "grants"):
            return False
        if getattr(view, "tenant_required", True) and credential.tenant is None:
            raise InvalidRequest(
                "Platform credentials must name a tenant with the X-Tenant-ID header."
            )
        if request.method in permissions.SAFE_METHODS:
            allowed = getattr(view, "read_grants", DEFAULT_READ)
        else:
            allowed = getattr(view, "write_grants", DEFAULT_WRITE)
        return bool(credential.grants & allowed)
