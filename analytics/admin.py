"""The admin's Finance overview (staff groups finance, support, read_only: analytics.view_* by
migration 0002): KPI tiles, the MRR line and the monthly movements as server-rendered SVG, churn and
retention, receivables ageing; every figure drills down to its tenants or invoices (linked to their
admin pages) and every table exports as CSV. Reads only the fact tables (analytics.selectors)."""

from __future__ import annotations

import csv
from datetime import date

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import urlencode

from analytics import charts, revenue, selectors
from analytics.models import FinanceOverview, JournalAccount, RevenueReport
from billing_project.money import to_major

VIEW_PERMISSION = "analytics.view_mrrmovement"


class OverviewFilter(forms.Form):
    start = forms.DateField(required=False, label="From")
    end = forms.DateField(required=False, label="To")
    currency = forms.RegexField(r"^[a-z]{3}$", required=False)

    def range(self) -> tuple[date, date, str | None]:
        data = self.cleaned_data if self.is_valid() else {}
        end = data.get("end") or date.today()
        start = data.get("start") or date(end.year - 1, end.month, 1)
        if start > end or len(selectors.months_between(start, end)) > selectors.MAX_MONTHS:
            start = date(end.year - 1, end.month, 1)
        return start, end, data.get("currency") or None


def _rate(value) -> str:
    return "–" if value is None else f"{value} %"


MONTHLY_COLUMNS = [
    ("month", "Month"),
    ("currency", "Currency"),
    ("mrr", "MRR"),
    ("arr", "ARR"),
    ("paying", "Paying accounts"),
    ("arpa", "ARPA"),
    ("new", "New"),
    ("expansion", "Expansion"),
    ("contraction", "Contraction"),
    ("churn", "Churned"),
    ("reactivation", "Reactivation"),
    ("net", "Net movement"),
    ("logo_churn", "Logo churn"),
    ("revenue_churn", "Revenue churn"),
    ("grr", "Gross retention"),
    ("nrr", "Net retention"),
    ("trial_conversion", "Trial-to-paid"),
    ("recovery", "Payment recovery"),
    ("cash", "Cash collected"),
    ("refunds", "Refunds"),
    ("usage", "Usage revenue"),
    ("active", "Active"),
    ("trialing", "Trialing"),
    ("past_due", "Past due"),
    ("canceled", "Canceled"),
]
MOVEMENT_KINDS = ("new", "expansion", "contraction", "churn", "reactivation")


def monthly_row(f) -> dict:
    c = f.currency
    row = {
        "month": f"{f.month:%Y-%m}",
        "currency": c,
        "mrr": to_major(f.mrr, c),
        "arr": to_major(f.arr, c),
        "paying": f.paying,
        "arpa": to_major(f.arpa, c) if f.arpa is not None else "",
        "net": to_major(f.net_movement, c),
        "logo_churn": _rate(f.logo_churn_rate),
        "revenue_churn": _rate(f.revenue_churn_rate),
        "grr": _rate(f.gross_revenue_retention),
        "nrr": _rate(f.net_revenue_retention),
        "trial_conversion": _rate(f.trial_conversion_rate),
        "recovery": _rate(f.recovery_rate),
        "cash": to_major(f.cash_collected, c),
        "refunds": to_major(f.refunds, c),
        "usage": to_major(f.usage_revenue, c),
    }
    for kind in MOVEMENT_KINDS:
        row[kind] = to_major(f.amounts[kind], c)
    for status in selectors.STATUS_COUNTED:
        row[status] = f.statuses.get(status, 0)
    return row


def _csv(filename: str, header: list[str], rows: list[list]) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow(header)
    writer.writerows(rows)
    return response


@admin.register(FinanceOverview)
class FinanceOverviewAdmin(admin.ModelAdmin):
    """One page, not a list of rows: the changelist is the overview."""

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.has_perm(VIEW_PERMISSION)

    def has_module_permission(self, request):
        return self.has_view_permission(request)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = OverviewFilter(request.GET or None)
        start, end, currency = form.range()
        drill = request.GET.get("drill")
        if drill in ("movements", "receivables"):
            return self.drill_view(request, drill, end)
        figures = selectors.monthly_figures(start=start, end=end, currency=currency)
        export = request.GET.get("export")
        if export == "monthly":
            return _csv(
                f"finance-monthly-{start:%Y-%m}-{end:%Y-%m}.csv",
                [label for _, label in MONTHLY_COLUMNS],
                [[monthly_row(f)[key] for key, _ in MONTHLY_COLUMNS] for f in figures],
            )
        ageing = selectors.receivables(as_of=end, currency=currency)
        if export == "receivables":
            return _csv(
                f"finance-receivables-{end:%Y-%m-%d}.csv",
                ["Currency", "As of", *selectors.AGEING_BUCKETS],
                [
                    [
                        c,
                        end.isoformat(),
                        *(to_major(b[k]["amount"], c) for k in selectors.AGEING_BUCKETS),
                    ]
                    for c, b in sorted(ageing.items())
                ],
            )
        by_currency: dict[str, list] = {}
        for f in figures:
            by_currency.setdefault(f.currency, []).append(f)
        base = {"start": start.isoformat(), "end": end.isoformat()}
        sections = []
        for cur, series in by_currency.items():
            last = series[-1]
            rows = []
            for f in series:
                row = monthly_row(f)
                row["links"] = {
                    kind: "?"
                    + urlencode(
                        {
                            **base,
                            "drill": "movements",
                            "month": row["month"],
                            "currency": cur,
                            "kind": kind,
                        }
                    )
                    for kind in MOVEMENT_KINDS
                }
                rows.append(row)
            buckets = ageing.get(cur, {})
            sections.append(
                {
                    "currency": cur,
                    "tiles": [
                        ("MRR", to_major(last.mrr, cur)),
                        ("ARR", to_major(last.arr, cur)),
                        ("Paying accounts", last.paying),
                        ("ARPA", to_major(last.arpa, cur) if last.arpa is not None else "–"),
                        ("Logo churn (last month)", _rate(last.logo_churn_rate)),
                        ("Net revenue retention (last month)", _rate(last.net_revenue_retention)),
                        (
                            "Cash collected (range)",
                            to_major(sum(f.cash_collected for f in series), cur),
                        ),
                        ("Receivables", to_major(sum(b["amount"] for b in buckets.values()), cur)),
                    ],
                    "rows": rows,
                    "mrr_chart": charts.mrr_chart(series, cur),
                    "movements_chart": charts.movements_chart(series, cur),
                    "ageing": [
                        (
                            bucket,
                            to_major(buckets.get(bucket, {}).get("amount", 0), cur),
                            buckets.get(bucket, {}).get("count", 0),
                            "?"
                            + urlencode(
                                {**base, "drill": "receivables", "bucket": bucket, "currency": cur}
                            ),
                        )
                        for bucket in selectors.AGEING_BUCKETS
                    ],
                }
            )
        query = request.GET.copy()
        context = {
            **self.admin_site.each_context(request),
            "title": "Finance overview",
            "opts": self.model._meta,
            "form": form,
            "start": start,
            "end": end,
            "currency": currency,
            "currencies": selectors.currencies_known(),
            "sections": sections,
            "columns": MONTHLY_COLUMNS,
            "colours": charts.COLOURS,
            "export_monthly": "?" + urlencode({**query.dict(), "export": "monthly"}),
            "export_receivables": "?" + urlencode({**query.dict(), "export": "receivables"}),
        }
        return TemplateResponse(request, "analytics/admin/overview.html", context)

    def drill_view(self, request, drill: str, end: date):
        """The tenants behind a movement figure or the invoices behind an ageing bucket."""
        currency = request.GET.get("currency", "")
        if len(currency) != 3 or not currency.isalpha():
            raise _bad("currency")
        if drill == "movements":
            try:
                month = date.fromisoformat(request.GET.get("month", "") + "-01")
            except ValueError:
                raise _bad("month") from None
            kind = request.GET.get("kind") or None
            if kind is not None and kind not in MOVEMENT_KINDS:
                raise _bad("kind")
            moves = selectors.movement_list(month=month, currency=currency, kind=kind)
            title = f"{kind or 'MRR movements'} in {month:%Y-%m} ({currency.upper()})"
            header = [
                "Tenant",
                "Day",
                "Kind",
                "MRR before",
                "MRR after",
                "Change",
                "Plan before",
                "Plan after",
                "Status",
            ]
            rows = [
                (
                    m.tenant,
                    reverse("admin:tenants_tenant_change", args=[m.tenant_id]),
                    [
                        m.day.isoformat(),
                        m.kind,
                        to_major(m.mrr_before, currency),
                        to_major(m.mrr_after, currency),
                        to_major(m.delta, currency),
                        m.plan_before,
                        m.plan_after,
                        m.status_after,
                    ],
                )
                for m in moves
            ]
        else:
            bucket = request.GET.get("bucket", "")
            if bucket not in selectors.AGEING_BUCKETS:
                raise _bad("bucket")
            invoices = selectors.receivable_list(as_of=end, currency=currency, bucket=bucket)
            title = f"Receivables {bucket} days at {end} ({currency.upper()})"
            header = ["Tenant", "Invoice", "Number", "Due", "Remaining", "Total"]
            invoice_admin = reverse("admin:djstripe_invoice_changelist")
            rows = [
                (
                    i.tenant,
                    f"{invoice_admin}?{urlencode({'q': i.invoice_id})}",
                    [
                        i.invoice_id,
                        i.number,
                        i.due_on.isoformat() if i.due_on else "",
                        to_major(i.amount_remaining, currency),
                        to_major(i.total, currency),
                    ],
                )
                for i in invoices
            ]
        if request.GET.get("export") == "drill":
            return _csv(f"finance-{drill}.csv", header, [[str(t), *cells] for t, _, cells in rows])
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.model._meta,
            "header": header,
            "rows": rows,
            "export": "?" + urlencode({**request.GET.dict(), "export": "drill"}),
            "back": "?"
            + urlencode({k: v for k, v in request.GET.items() if k in ("start", "end")}),
        }
        return TemplateResponse(request, "analytics/admin/drill.html", context)


def _bad(name: str):
    from django.core.exceptions import BadRequest

    return BadRequest(f"Bad {name}.")


# --- revenue recognition ------------------------------------------------------------------------


@admin.register(JournalAccount)
class JournalAccountAdmin(admin.ModelAdmin):
    """The account code of each journal role (finance edits; the other groups read)."""

    list_display = ("role", "code", "name")

    def has_delete_permission(self, request, obj=None):
        return False


class RevenueFilter(forms.Form):
    month = forms.RegexField(r"^\d{4}-(0[1-9]|1[0-2])$", required=False)
    currency = forms.RegexField(r"^[a-z]{3}$", required=False)


@admin.register(RevenueReport)
class RevenueReportAdmin(admin.ModelAdmin):
    """The monthly revenue report per plan and currency, and the month's journal (CSV)."""

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.has_perm("analytics.view_revenueschedule")

    def has_module_permission(self, request):
        return self.has_view_permission(request)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = RevenueFilter(request.GET or None)
        data = form.cleaned_data if form.is_valid() else {}
        today = date.today()
        month = (
            date.fromisoformat(data["month"] + "-01") if data.get("month") else today.replace(day=1)
        )
        currency = data.get("currency") or None
        names = ("opening", "billed", "recognised", "reversed", "closing")
        rows = revenue.revenue_report(month=month, currency=currency)
        export = request.GET.get("export")
        if export == "journal":
            return _csv(
                f"journal-{month:%Y-%m}.csv",
                revenue.JOURNAL_HEADER,
                [
                    [
                        d.isoformat(),
                        account,
                        to_major(debit, cur),
                        to_major(credit, cur),
                        cur,
                        memo,
                        inv,
                    ]
                    for d, account, debit, credit, cur, memo, inv in revenue.journal_lines(
                        month=month, currency=currency
                    )
                ],
            )
        table = [
            [
                row.plan_code or "(one-off)",
                row.currency,
                *(to_major(getattr(row, n), row.currency) for n in names),
            ]
            for row in rows
        ] + [
            ["TOTAL", t.currency, *(to_major(getattr(t, n), t.currency) for n in names)]
            for t in revenue.totals_by_currency(rows).values()
        ]
        header = [
            "Plan",
            "Currency",
            "Deferred at start",
            "Billed",
            "Recognised",
            "Reversed",
            "Deferred at end",
        ]
        if export == "report":
            return _csv(f"revenue-{month:%Y-%m}.csv", header, table)
        query = {"month": f"{month:%Y-%m}", **({"currency": currency} if currency else {})}
        context = {
            **self.admin_site.each_context(request),
            "title": f"Revenue report {month:%Y-%m}",
            "opts": self.model._meta,
            "month": f"{month:%Y-%m}",
            "currency": currency or "",
            "header": header,
            "table": table,
            "export_report": "?" + urlencode({**query, "export": "report"}),
            "export_journal": "?" + urlencode({**query, "export": "journal"}),
        }
        return TemplateResponse(request, "analytics/admin/revenue.html", context)
