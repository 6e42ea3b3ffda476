"""The monthly revenue report (billed, deferred opening / recognised / reversed / closing per plan and
currency), or with --journal the month's journal entries as CSV."""

from __future__ import annotations

import csv
import re
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from analytics.revenue import JOURNAL_HEADER, journal_lines, revenue_report, totals_by_currency
from billing_project.money import to_major


class Command(BaseCommand):
    help = "Revenue recognition report of one month (--month YYYY-MM); --journal prints the CSV journal."

    def add_arguments(self, parser):
        parser.add_argument("--month", required=True, help="YYYY-MM")
        parser.add_argument("--currency", help="Only this currency (lower-case ISO code).")
        parser.add_argument("--journal", action="store_true", help="The journal CSV instead.")

    def handle(self, *args, **options):
        if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", options["month"] or ""):
            raise CommandError("--month is YYYY-MM, e.g. 2026-03.")
        month = date.fromisoformat(options["month"] + "-01")
        currency = (options["currency"] or "").lower() or None
        if currency and not re.fullmatch(r"[a-z]{3}", currency):
            raise CommandError("--currency is a three-letter ISO code.")
        if options["journal"]:
            writer = csv.writer(self.stdout, lineterminator="\n")
            writer.writerow(JOURNAL_HEADER)
            for line in journal_lines(month=month, currency=currency):
                day, account, debit, credit, cur, memo, invoice = line
                writer.writerow(
                    [
                        day.isoformat(),
                        account,
                        to_major(debit, cur),
                        to_major(credit, cur),
                        cur,
                        memo,
                        invoice,
                    ]
                )
            return
        rows = revenue_report(month=month, currency=currency)
        header = ("plan", "currency", "opening", "billed", "recognised", "reversed", "closing")
        self.stdout.write(f"Revenue report {month:%Y-%m}")
        self.stdout.write("\t".join(header))
        labelled = [(row.plan_code or "(one-off)", row) for row in rows]
        labelled += [("TOTAL", row) for row in totals_by_currency(rows).values()]
        for label, row in labelled:
            cur = row.currency
            amounts = [to_major(getattr(row, name), cur) for name in header[2:]]
            self.stdout.write("\t".join([label, cur, *amounts]))
