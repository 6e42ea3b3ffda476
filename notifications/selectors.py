"""Reads of the notifications app. Each takes the tenant and reads in its schema."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Prefetch, QuerySet
from django_tenants.utils import schema_context, tenant_context

from billing_details.selectors import billing_details_get
from notifications import crypto
from notifications.models import Delivery, Notification, NotificationPreference
from notifications.preferences import BILLING_CONTACT_KINDS
from tenants.models import Membership, Role


def preference_get(*, tenant) -> NotificationPreference:
    """The tenant's preferences; an unsaved row of defaults when it never chose."""
    with tenant_context(tenant):
        return NotificationPreference.objects.filter(pk=1).first() or NotificationPreference(pk=1)


def preference_slack_url(preference: NotificationPreference) -> str:
    if not preference.slack_webhook_ciphertext:
        return ""
    return crypto.decrypt(preference.slack_webhook_key_id, preference.slack_webhook_ciphertext)


def email_recipients(*, tenant, preference: NotificationPreference, kind: str = "") -> list[str]:
    """Owners and billing admins (as chosen) and the extra addresses, then for an invoice or a
    receipt every invoice email of the tenant's billing details; each address once, in that order."""
    roles = [
        role
        for role, wanted in (
            (Role.OWNER, preference.email_owners),
            (Role.BILLING_ADMIN, preference.email_billing_admins),
        )
        if wanted
    ]
    people = (
        Membership.objects.filter(tenant=tenant, role__in=roles, user__is_active=True)
        .order_by("created")
        .values_list("user__email", flat=True)
    )
    seen: dict[str, str] = {}
    billing = billing_details_get(tenant=tenant)["emails"] if kind in BILLING_CONTACT_KINDS else []
    for address in [*people, *(preference.extra_emails or []), *billing]:
        seen.setdefault(address.lower(), address)
    return list(seen.values())


def recipient_is_member(*, tenant, address: str) -> bool:
    """Whether `address` signs in to the tenant's portal (an active member): else it is a billing
    contact or an extra address, whom the portal's links would only send to a login page."""
    return Membership.objects.filter(
        tenant=tenant, user__email__iexact=address, user__is_active=True
    ).exists()


def platform_slack_get() -> tuple[str, list[str]]:
    """(webhook URL, kinds) of the finance team's channel; ("", []) when there is none."""
    from notifications.platform.models import PlatformSlackSettings

    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        row = PlatformSlackSettings.objects.filter(pk=1).first()
    if row is not None and row.webhook_ciphertext:
        if not row.enabled:
            return "", []
        return crypto.decrypt(row.webhook_key_id, row.webhook_ciphertext), list(row.kinds or [])
    if settings.NOTIFICATIONS_PLATFORM_SLACK_URL:
        return settings.NOTIFICATIONS_PLATFORM_SLACK_URL, [
            "payment_failed",
            "invoice_overdue",
            "refund_issued",
        ]
    return "", []


def notification_list(*, tenant) -> QuerySet[Notification]:
    """The in-app list, newest first, with the deliveries of each entry."""
    with tenant_context(tenant):
        return Notification.objects.filter(in_app=True).prefetch_related(
            Prefetch("deliveries", queryset=Delivery.objects.order_by("created", "pk"))
        )


def notification_get(*, tenant, notification_id) -> Notification | None:
    try:
        pk = int(notification_id)
    except (TypeError, ValueError):
        return None
    with tenant_context(tenant):
        return Notification.objects.filter(pk=pk, in_app=True).first()
