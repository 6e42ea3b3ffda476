"""Compare what the collectors saw with what was billed, per tenant and resource.

    manage.py usage_reconcile --period 2024-01 [--tenant acme]

Prints one line per collector with the drift (billed - seen); exits 1 when any drift is found.
"""

from django.core.management.base import BaseCommand, CommandError

from billing_project.api.exceptions import InvalidRequest
from tenants.models import Tenant
from tenants.selectors import tenant_get_by_reference
from usage import selectors
from usage.counters import plain_decimal
from usage.schema import in_schema


def _fmt(value) -> str:
    return "-" if value is None else plain_decimal(value)


class Command(BaseCommand):
    help = "Compare collector counts with billed usage for a period and print the drift."

    def add_arguments(self, parser):
        parser.add_argument("--period", default="current", help="current (default) or YYYY-MM")
        parser.add_argument(
            "--tenant", help="one tenant (slug or tenant_id); default: every active tenant"
        )

    def handle(self, *args, period, tenant=None, **options):
        if tenant:
            found = tenant_get_by_reference(reference=tenant)
            if found is None:
                raise CommandError(f"No tenant {tenant!r}.")
            tenants = [found]
        else:
            tenants = (
                Tenant.objects.filter(status=Tenant.Status.ACTIVE)
                .exclude(schema_name="public")
                .order_by("slug")
            )
        header = (
            f"{'tenant':<20} {'collector':<24} {'resource':<14} {'seen':>12} {'billed':>12} {'pushed':>12} "
            f"{'drift':>10} {'failed':>6}"
        )
        self.stdout.write(header)
        drifting = 0
        for t in tenants:
            with in_schema(t):
                try:
                    start, end = selectors.period_resolve(tenant=t, period=period)
                except InvalidRequest as exc:
                    raise CommandError(exc.message) from exc
                for row in selectors.usage_reconcile_rows(tenant=t, start=start, end=end):
                    drift = row.drift
                    flag = "" if drift == 0 else ("  NO DATA" if drift is None else "  DRIFT")
                    drifting += drift != 0
                    self.stdout.write(
                        f"{t.slug:<20} {row.collector:<24} {row.resource_type:<14} {_fmt(row.seen):>12} "
                        f"{_fmt(row.billed):>12} {_fmt(row.pushed):>12} {_fmt(drift):>10} "
                        f"{row.failed_runs:>6}{flag}"
                    )
        self.stdout.write(f"{drifting} collector(s) with drift or no data in period {period}.")
        if drifting:
            raise SystemExit(1)
