from django.core.management.base import BaseCommand

from billing_project.progress import Progress
from tenants.models import Tenant


class Command(BaseCommand):
    help = "Create the Stripe customer of every tenant that lacks one (idempotent)."

    def handle(self, *args, **options):
        from subscriptions.services.customers import customer_ensure

        tenants = list(Tenant.objects.exclude(schema_name="public").order_by("slug"))
        with Progress(total=len(tenants), unit="tenants", stream=self.stdout) as progress:
            for tenant in tenants:
                account = customer_ensure(tenant=tenant)
                progress.advance(note=f"{tenant.slug}: {account.stripe_customer_id}")
        self.stdout.write(self.style.SUCCESS("done"))
