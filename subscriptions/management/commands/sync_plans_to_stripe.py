from django.core.management.base import BaseCommand

from subscriptions.services.catalog import plan_sync_all_to_stripe


class Command(BaseCommand):
    help = "Create/update a Stripe Product and monthly/yearly Prices for every active plan (idempotent)."

    def handle(self, *args, **options):
        total = plan_sync_all_to_stripe(actor="manage.py sync_plans_to_stripe", log=self.stdout.write)
        self.stdout.write(self.style.SUCCESS(f"done: {total} change(s)"))
