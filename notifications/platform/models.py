"""Platform-wide notification settings. Public schema (notifications.platform is a shared app)."""

from django.db import models


def _default_kinds() -> list[str]:
    return ["payment_failed", "invoice_overdue", "refund_issued"]


class PlatformSlackSettings(models.Model):
    """The finance staff's Slack channel: one row (pk 1). When absent or disabled,
    settings.NOTIFICATIONS_PLATFORM_SLACK_URL (if set) is used with the default kinds."""

    enabled = models.BooleanField(default=True)
    kinds = models.JSONField(
        default=_default_kinds,
        blank=True,
        help_text="billing event kinds posted to the finance channel",
    )
    webhook_ciphertext = models.TextField(blank=True)
    webhook_key_id = models.CharField(max_length=16, blank=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = "platform Slack settings"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(pk=1), name="platform_slack_settings_singleton"
            )
        ]

    def __str__(self) -> str:
        return "platform Slack channel"
