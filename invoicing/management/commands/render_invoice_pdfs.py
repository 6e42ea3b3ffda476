"""Render invoice PDFs: `--missing` (never rendered or failed) or `--all`, for every tenant or one."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import tenant_context

from billing_project.progress import Progress
from invoicing import selectors
from invoicing.models import InvoiceDocument
from invoicing.services.documents import document_render, document_request
from tenants.selectors import tenant_list


class Command(BaseCommand):
    help = "Render invoice PDFs (--missing or --all) for every tenant, or one with --tenant."

    def add_arguments(self, parser):
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument(
            "--missing", action="store_true", help="Only invoices without a ready PDF."
        )
        which.add_argument(
            "--all", action="store_true", help="Every invoice, replacing the stored PDFs."
        )
        parser.add_argument("--tenant", help="Only this tenant (slug).")
        parser.add_argument(
            "--queue",
            action="store_true",
            help="Queue Celery tasks instead of rendering in this process.",
        )

    def handle(self, *args, **options):
        tenants = tenant_list().filter(status="active")
        if options["tenant"]:
            tenants = tenants.filter(slug=options["tenant"])
            if not tenants.exists():
                raise CommandError(f"No active tenant {options['tenant']!r}.")
        work = []
        for tenant in tenants:
            ids = list(selectors.invoice_queryset(tenant=tenant).values_list("id", flat=True))
            if options["missing"] and ids:
                with tenant_context(tenant):
                    ready = set(
                        InvoiceDocument.objects.filter(
                            invoice_id__in=ids, status="ready"
                        ).values_list("invoice_id", flat=True)
                    )
                ids = [invoice_id for invoice_id in ids if invoice_id not in ready]
            work.extend((tenant, invoice_id) for invoice_id in ids)
        verb = "queued" if options["queue"] else "rendered"
        done = failed = 0
        with Progress(total=len(work), unit=verb, stream=self.stdout) as progress:
            for tenant, invoice_id in work:
                with tenant_context(tenant):
                    try:
                        if options["queue"]:
                            document_request(tenant=tenant, invoice_id=invoice_id)
                        else:
                            document_render(tenant=tenant, invoice_id=invoice_id)
                    except (
                        Exception
                    ) as exc:  # one bad invoice must not stop the run; it is reported
                        failed += 1
                        self.stderr.write(f"{tenant.slug} {invoice_id}: {exc!r}")
                done += 1
                progress.advance(status=f"{failed} failed")
        self.stdout.write(self.style.SUCCESS(f"{done - failed} PDFs {verb}, {failed} failed."))
        if failed:
            raise CommandError(f"{failed} PDFs failed.")
