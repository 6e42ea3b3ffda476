from django.core.management.base import BaseCommand

from billing_project.progress import Progress
from subscriptions.models import Plan
from subscriptions.services.catalog import plan_sync_to_stripe


class Command(BaseCommand):
    help = "Create/update a Stripe Product and monthly/yearly Prices for every active plan (idempotent)."

    def handle(self, *args, **options):
        plans = list(Plan.objects.filter(is_active=True).order_by("price_monthly", "code"))
        total = 0
        with Progress(total=len(plans), unit="plans", stream=self.stdout) as progress:
            for plan in plans:
                changes = plan_sync_to_stripe(plan=plan, actor="manage.py sync_plans_to_stripe")
                total += len(changes)
                progress.advance(
                    note=f"{plan.code}: " + ("; ".join(changes) if changes else "up to date")
                )
        self.stdout.write(self.style.SUCCESS(f"done: {total} change(s)"))
