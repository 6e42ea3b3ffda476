"""The only place that talks to the outside: email through Django's mail API (the anymail, SMTP or
console backend chosen by settings) and Slack incoming webhooks over HTTPS, through the outbound URL policy."""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives

from billing_project import outbound


class DeliveryError(Exception):
    """The ESP or Slack refused or did not answer; worth another try."""


class DeliveryRefused(DeliveryError):
    """The destination is not allowed (outbound URL policy) or redirects: another try will not help."""


def email_send(
    *,
    to: str,
    subject: str,
    text: str,
    html: str,
    reply_to: str | None = None,
    attachments: list[tuple[str, bytes, str]] | None = None,
) -> None:
    """One email; `attachments` are (file name, content, MIME type), e.g. an invoice's PDF."""
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        reply_to=[reply_to] if reply_to else None,
    )
    message.attach_alternative(html, "text/html")
    for name, content, mimetype in attachments or []:
        message.attach(name, content, mimetype)
    try:
        sent = message.send(fail_silently=False)
    except Exception as exc:  # anymail, smtplib and socket errors alike: the backend decides which
        raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc
    if not sent:
        raise DeliveryError("the email backend accepted no message")


def slack_post(*, url: str, payload: dict) -> None:
    """Post to a Slack incoming webhook under the outbound URL policy (billing_project.outbound): a URL
    that leads to a private address, or a redirect, is refused for good (DeliveryRefused)."""
    try:
        response = outbound.post_json(
            url, payload, timeout=settings.NOTIFICATIONS_SLACK_TIMEOUT_SECONDS
        )
    except outbound.OutboundRefused as exc:
        raise DeliveryRefused(
            f"refused by the outbound URL policy: the Slack webhook URL {exc}"
        ) from exc
    except outbound.OutboundError as exc:
        raise DeliveryError(f"Slack unreachable: {exc}") from exc
    if 300 <= response.status < 400:
        # Following it would let the far end send the worker anywhere, inside included.
        raise DeliveryRefused(
            f"Slack answered {response.status} (a redirect): not followed; "
            "set the webhook URL Slack gave you"
        )
    if response.status >= 400:
        body = response.body[:200].decode(errors="replace")
        raise DeliveryError(f"Slack answered {response.status}: {body}")
