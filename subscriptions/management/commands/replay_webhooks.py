from datetime import UTC, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_datetime


def _since(value: str):
    if value.endswith(("h", "d")) and value[:-1].isdigit():
        amount = int(value[:-1])
        return timezone.now() - (
            timedelta(hours=amount) if value.endswith("h") else timedelta(days=amount)
        )
    parsed = parse_datetime(value)
    if parsed is None:
        raise CommandError("--since is an ISO time (2026-01-31T00:00:00Z) or an age like 24h / 7d.")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class Command(BaseCommand):
    help = "Process stored Stripe webhook events again (handlers re-fetch from Stripe, so replays are safe)."

    def add_arguments(self, parser):
        parser.add_argument("--since", required=True, help="ISO time or age (24h, 7d)")
        parser.add_argument("--type", dest="event_type", help="only this event type")
        parser.add_argument("--failed-only", action="store_true")

    def handle(self, *args, since, event_type=None, failed_only=False, **options):
        from subscriptions.services.webhooks import webhook_replay

        count = webhook_replay(
            since=_since(since),
            event_type=event_type,
            failed_only=failed_only,
            log=self.stdout.write,
        )
        self.stdout.write(self.style.SUCCESS(f"replayed {count} event(s)"))
