from django.core.management.base import BaseCommand

from tenants.models import Tenant


class Command(BaseCommand):
    help = "Create the Stripe customer of every tenant that lacks one (idempotent)."

    def handle(self, *args, **options):
        from subscriptions.services.customers import customer_ensure

        tenants = list(Tenant.objects.exclude(schema_name="public").order_by("slug"))
        for index, tenant in enumerate(tenants, 1):
            account = customer_ensure(tenant=tenant)
            self.stdout.write(f"[{index}/{len(tenants)}] {tenant.slug}: {account.stripe_customer_id}")
        self.stdout.write(self.style.SUCCESS("done"))
