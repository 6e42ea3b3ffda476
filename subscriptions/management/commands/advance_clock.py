from django.core.management.base import BaseCommand, CommandError

from tenants.models import Tenant


class Command(BaseCommand):
    help = "Move a tenant's Stripe test clock forward and wait until it is ready (its webhooks delivered)."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="tenant slug")
        parser.add_argument("--days", type=int, default=0)
        parser.add_argument("--hours", type=int, default=0)

    def handle(self, *args, tenant, days, hours, **options):
        from subscriptions.services.clocks import test_clock_advance

        found = Tenant.objects.filter(slug=tenant).first()
        if found is None:
            raise CommandError(f"No tenant {tenant!r}.")
        self.stdout.write(f"advancing {tenant}'s test clock by {days} day(s) {hours} hour(s)...")
        account = test_clock_advance(
            tenant=found, days=days, seconds=hours * 3600, actor="manage.py advance_clock"
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"ready: clock time {account.clock_time:%Y-%m-%d %H:%M} UTC, "
                f"subscription {account.status or 'none'}"
            )
        )
