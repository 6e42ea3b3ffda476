"""CSV of a tenant's usage events in a billing period, with its progress on stderr.

manage.py usage_report --tenant acme --period 2024-01 [--output usage.csv]
"""

from django.core.management.base import BaseCommand, CommandError

from billing_project.api.exceptions import InvalidRequest
from billing_project.progress import Progress
from billing_project.replica import stream_from_replica
from tenants.selectors import tenant_get_by_reference
from usage import selectors
from usage.reports import csv_lines
from usage.schema import in_schema


class Command(BaseCommand):
    help = "Write a tenant's usage events of a billing period as CSV."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="tenant slug or tenant_id")
        parser.add_argument("--period", default="current", help="current (default) or YYYY-MM")
        parser.add_argument("--output", help="file to write (default: stdout)")

    def handle(self, *args, tenant, period, output=None, **options):
        found = tenant_get_by_reference(reference=tenant)
        if found is None:
            raise CommandError(f"No tenant {tenant!r}.")
        with in_schema(found):
            try:
                start, end = selectors.period_resolve(tenant=found, period=period)
            except InvalidRequest as exc:
                raise CommandError(exc.message) from exc
            total = selectors.usage_report_count(tenant=found, start=start, end=end)
            rows = selectors.usage_report_rows(tenant=found, start=start, end=end)
            stream = open(output, "w", newline="") if output else self.stdout._out
            # On stderr: stdout may be the CSV itself.
            try:
                with Progress(total=total, unit="events", stream=self.stderr) as progress:
                    lines = csv_lines(stream_from_replica(rows))
                    stream.write(next(lines))  # the header row
                    for line in lines:
                        stream.write(line)
                        progress.advance()
            finally:
                if output:
                    stream.close()
