"""The development email backend when no SMTP server or email provider is configured.

Django's console backend prints every message whole (HTML alternatives included); during `make run`
that buried the start banner under pages of HTML. This one logs one line per message at INFO; the
whole messages come back with LOG_LEVEL=DEBUG (settings pick the console backend then).
"""

import logging

from django.core.mail.backends.base import BaseEmailBackend

logger = logging.getLogger("billing_project.mail")


class SummaryEmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        for message in email_messages:
            logger.info(
                "email (not sent, no SMTP configured) to %s: %s",
                ", ".join(message.recipients()),
                message.subject,
            )
        return len(email_messages)
