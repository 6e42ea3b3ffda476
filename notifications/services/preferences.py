"""The tenant's notification preferences and the platform's Slack channel."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django_tenants.utils import schema_context, tenant_context

from billing_project import outbound
from billing_project.errors import InvalidRequest
from notifications import crypto, selectors
from notifications.events import KINDS
from notifications.models import TENANT_CHANNELS, NotificationPreference
from tenants.services.audit import audit_record

_UNSET = object()


def _validate_slack_url(url: str) -> None:
    # The outbound URL policy's save-time half: the connect-time half in the gateway is the real guard.
    try:
        outbound.url_check(url)
    except outbound.OutboundRefused as exc:
        raise InvalidRequest(
            f"The Slack webhook URL {exc}.", detail={"slack_webhook_url": [f"The URL {exc}."]}
        ) from exc


def _validate_channels(channels: dict) -> dict:
    errors = {}
    for kind, chosen in channels.items():
        if kind not in KINDS:
            errors[kind] = ["Unknown notification kind."]
        elif not isinstance(chosen, list) or any(c not in TENANT_CHANNELS for c in chosen):
            errors[kind] = [f"A list of channels among {', '.join(TENANT_CHANNELS)}."]
    if errors:
        raise InvalidRequest(
            "Unknown kinds or channels in the preferences.", detail={"channels": errors}
        )
    return {
        kind: sorted(set(chosen), key=list(TENANT_CHANNELS).index)
        for kind, chosen in channels.items()
    }


def preference_update(
    *,
    tenant,
    actor: str,
    channels: dict | None = None,
    email_owners: bool | None = None,
    email_billing_admins: bool | None = None,
    extra_emails: list[str] | None = None,
    slack_webhook_url=_UNSET,
) -> NotificationPreference:
    """Change the given preferences (others keep their value). `slack_webhook_url` "" or None removes
    the URL; the URL itself never reaches the audit log."""
    with tenant_context(tenant), transaction.atomic():
        preference = NotificationPreference.objects.select_for_update().filter(
            pk=1
        ).first() or NotificationPreference(pk=1)
        before = _audit_view(preference)
        if channels is not None:
            preference.channels = {**(preference.channels or {}), **_validate_channels(channels)}
        if email_owners is not None:
            preference.email_owners = email_owners
        if email_billing_admins is not None:
            preference.email_billing_admins = email_billing_admins
        if extra_emails is not None:
            preference.extra_emails = list(
                dict.fromkeys(address.strip().lower() for address in extra_emails)
            )
        if slack_webhook_url is not _UNSET:
            if slack_webhook_url:
                _validate_slack_url(slack_webhook_url)
                preference.slack_webhook_key_id, preference.slack_webhook_ciphertext = (
                    crypto.encrypt(slack_webhook_url)
                )
            else:
                preference.slack_webhook_key_id, preference.slack_webhook_ciphertext = "", ""
        preference.full_clean()
        preference.save()
        audit_record(
            actor=actor,
            action="notifications.preferences_update",
            tenant=tenant,
            target="preferences",
            before=before,
            after=_audit_view(preference),
        )
    return preference


def _audit_view(preference: NotificationPreference) -> dict:
    return {
        "channels": preference.channels,
        "email_owners": preference.email_owners,
        "email_billing_admins": preference.email_billing_admins,
        "extra_emails": preference.extra_emails,
        "slack_webhook": bool(preference.slack_webhook_ciphertext),
    }


def platform_slack_update(
    *, actor: str, webhook_url=_UNSET, enabled: bool | None = None, kinds: list[str] | None = None
):
    """Set the finance team's Slack channel (public schema)."""
    from notifications.platform.models import PlatformSlackSettings

    with schema_context(settings.PUBLIC_SCHEMA_NAME), transaction.atomic():
        row = PlatformSlackSettings.objects.select_for_update().filter(
            pk=1
        ).first() or PlatformSlackSettings(pk=1)
        if webhook_url is not _UNSET:
            if webhook_url:
                _validate_slack_url(webhook_url)
                row.webhook_key_id, row.webhook_ciphertext = crypto.encrypt(webhook_url)
            else:
                row.webhook_key_id, row.webhook_ciphertext = "", ""
        if enabled is not None:
            row.enabled = enabled
        if kinds is not None:
            unknown = sorted(set(kinds) - set(KINDS))
            if unknown:
                raise InvalidRequest(
                    f"Unknown kinds: {', '.join(unknown)}.", detail={"kinds": ["Unknown kind."]}
                )
            row.kinds = list(kinds)
        row.save()
        audit_record(
            actor=actor,
            action="notifications.platform_slack_update",
            target="platform_slack",
            after={
                "enabled": row.enabled,
                "kinds": row.kinds,
                "webhook": bool(row.webhook_ciphertext),
            },
        )
    return row


def secrets_reencrypt() -> int:
    """Rewrite every stored Slack URL under the current FIELD_ENCRYPTION_KEY (after a rotation).
    Returns how many values changed key."""
    from notifications.platform.models import PlatformSlackSettings
    from tenants.models import Tenant

    current = crypto.current_key_id()
    changed = 0
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        for row in PlatformSlackSettings.objects.exclude(webhook_key_id__in=["", current]):
            row.webhook_key_id, row.webhook_ciphertext = crypto.encrypt(
                crypto.decrypt(row.webhook_key_id, row.webhook_ciphertext)
            )
            row.save(update_fields=["webhook_key_id", "webhook_ciphertext", "updated"])
            changed += 1
    for tenant in Tenant.objects.exclude(schema_name=settings.PUBLIC_SCHEMA_NAME):
        with tenant_context(tenant), transaction.atomic():
            preference = selectors.preference_get(tenant=tenant)
            if (
                preference.pk
                and preference.slack_webhook_key_id not in ("", current)
                and preference._state.adding is False
            ):
                url = selectors.preference_slack_url(preference)
                preference.slack_webhook_key_id, preference.slack_webhook_ciphertext = (
                    crypto.encrypt(url)
                )
                preference.save(
                    update_fields=["slack_webhook_key_id", "slack_webhook_ciphertext", "updated"]
                )
                changed += 1
    return changed
