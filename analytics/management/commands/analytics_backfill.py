"""Rebuild the finance facts (MRR movements, invoices, refunds) from the local mirror."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from analytics.backfill import accounts_to_rebuild, tenant_rebuild
from analytics.services import plans_by_price
from billing_project.progress import Progress


class Command(BaseCommand):
    help = (
        "Rebuild the analytics facts of every tenant (or --tenant SLUG) from the stored Stripe "
        "events and dj-stripe's mirror, without calling Stripe."
    )

    def add_arguments(self, parser):
        parser.add_argument("--tenant", help="Only this tenant (slug).")

    def handle(self, *args, **options):
        accounts = list(accounts_to_rebuild(tenant_slug=options["tenant"]))
        if options["tenant"] and not accounts:
            raise CommandError(f"No billing account for tenant {options['tenant']!r}.")
        plans = plans_by_price()
        movements = 0
        with Progress(total=len(accounts), unit="tenants", stream=self.stdout) as progress:
            for account in accounts:
                movements += tenant_rebuild(account=account, plans=plans)
                progress.advance()
        self.stdout.write(f"Rebuilt {len(accounts)} tenant(s): {movements} MRR movement(s).")
