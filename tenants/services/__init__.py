"""Writes of the tenants app, by sub-domain. Import from here: `from tenants import services`."""

from tenants.services.api_keys import api_key_create, api_key_mark_used, api_key_revoke
from tenants.services.audit import audit_record
from tenants.services.auth import LoginThrottle, auth_login, auth_refresh, login_attempt
from tenants.services.members import membership_create, membership_remove, user_invite_send
from tenants.services.provisioning import tenant_create, tenant_template_ensure

__all__ = [
    "LoginThrottle",
    "api_key_create",
    "api_key_mark_used",
    "api_key_revoke",
    "audit_record",
    "auth_login",
    "auth_refresh",
    "login_attempt",
    "membership_create",
    "membership_remove",
    "tenant_create",
    "tenant_template_ensure",
    "user_invite_send",
]
