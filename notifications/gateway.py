"""The only place that talks to the outside: email through Django's mail API (the anymail, SMTP or
console backend chosen by settings) and Slack incoming webhooks over HTTPS."""

import json
import urllib.error
import urllib.request

from django.conf import settings
from django.core.mail import EmailMultiAlternatives


class DeliveryError(Exception):
    """The ESP or Slack refused or did not answer; worth another try."""


def email_send(*, to: str, subject: str, text: str, html: str, reply_to: str | None = None) -> None:
    message = EmailMultiAlternatives(subject=subject, body=text, from_email=settings.DEFAULT_FROM_EMAIL, to=[to],
                                     reply_to=[reply_to] if reply_to else None)
    message.attach_alternative(html, "text/html")
    try:
        sent = message.send(fail_silently=False)
    except Exception as exc:  # anymail, smtplib and socket errors alike: the backend decides which
        raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc
    if not sent:
        raise DeliveryError("the email backend accepted no message")


def slack_post(*, url: str, payload: dict) -> None:
    if not url.startswith(("https://", "http://")):
        raise DeliveryError("the Slack webhook URL is not an http(s) URL")
    request = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=settings.NOTIFICATIONS_SLACK_TIMEOUT_SECONDS) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        body = exc.read()[:200].decode(errors="replace")
        raise DeliveryError(f"Slack answered {exc.code}: {body}") from exc
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise DeliveryError(f"Slack unreachable: {exc}") from exc
