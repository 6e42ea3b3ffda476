"""Archive the usage events of invoiced months to object storage and drop their partitions.

    manage.py usage_archive --before 2026-01 [--dry-run] [--tenant acme]

Every monthly partition of the events table that ends on or before the first of `--before`, per
tenant: detached, dumped (gzipped CSV) to the default storage, verified, dropped
(usage.services.partitions). Months with usage of billing periods not invoiced yet are refused and
kept; the command then exits 1. `--dry-run` prints what it would do and changes nothing.
"""

from datetime import UTC, datetime

from django.core.management.base import BaseCommand, CommandError

from tenants.models import Tenant
from tenants.selectors import tenant_get_by_reference
from usage.services import usage_archive


def _month(value: str) -> datetime:
    try:
        return datetime.strptime(value, "%Y-%m").replace(tzinfo=UTC)
    except ValueError:
        raise CommandError(f"--before must be YYYY-MM, not {value!r}.") from None


class Command(BaseCommand):
    help = "Archive invoiced months of usage events (dump to storage, drop the partition)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--before", required=True, help="YYYY-MM: months wholly before it are archived"
        )
        parser.add_argument("--dry-run", action="store_true", help="print, change nothing")
        parser.add_argument(
            "--tenant", help="one tenant (slug or tenant_id); default: every tenant"
        )

    def handle(self, *args, before, dry_run=False, tenant=None, **options):
        month = _month(before)
        if tenant:
            found = tenant_get_by_reference(reference=tenant)
            if found is None:
                raise CommandError(f"No tenant {tenant!r}.")
            tenants = [found]
        else:
            tenants = list(Tenant.objects.exclude(schema_name="public").order_by("slug"))
        refused = 0
        prefix = "[dry run] " if dry_run else ""
        for t in tenants:
            for outcome in usage_archive(tenant=t, before=month, dry_run=dry_run):
                where = f"{t.slug} {outcome.month} ({outcome.partition}, {outcome.rows} events)"
                if outcome.status == "refused":
                    refused += 1
                    self.stderr.write(f"{prefix}{where}: refused: {outcome.reason}")
                elif outcome.status == "would_archive":
                    self.stdout.write(f"{prefix}{where}: would be archived")
                else:
                    self.stdout.write(f"{where}: archived to {outcome.file}")
        if refused:
            raise CommandError(f"{refused} month(s) refused: their usage is not invoiced yet.")
