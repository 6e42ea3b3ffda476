from django.core.management.base import BaseCommand, CommandError

from billing_project.progress import Progress
from tenants.models import Tenant


class Command(BaseCommand):
    help = "Pull a tenant's (or every tenant's) Stripe customer, subscriptions and cards into the mirror."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", help="tenant slug (default: every tenant)")

    def handle(self, *args, tenant=None, **options):
        from subscriptions.services.sync import tenant_resync

        tenants = Tenant.objects.exclude(schema_name="public").order_by("slug")
        if tenant:
            tenants = tenants.filter(slug=tenant)
            if not tenants.exists():
                raise CommandError(f"No tenant {tenant!r}.")
        with Progress(total=tenants.count(), unit="tenants", stream=self.stdout) as progress:
            for each in tenants:
                account = tenant_resync(tenant=each)
                progress.advance(
                    note=f"{each.slug}: "
                    + (
                        f"{account.status or 'no subscription'}"
                        if account
                        else "no Stripe customer"
                    )
                )
        self.stdout.write(self.style.SUCCESS("done"))
