"""Rewrite stored Slack webhook URLs under the current FIELD_ENCRYPTION_KEY after a key rotation."""

from django.core.management.base import BaseCommand

from notifications.services import secrets_reencrypt


class Command(BaseCommand):
    help = "Re-encrypt stored secrets (Slack webhook URLs) with the current FIELD_ENCRYPTION_KEY."

    def handle(self, *args, **options):
        changed = secrets_reencrypt()
        self.stdout.write(f"{changed} secret(s) re-encrypted")
