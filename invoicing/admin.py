"""Finance back-office for invoices: dj-stripe's mirror (public) listed with filters, and per invoice
the tenant's own rows (lines, PDF, dunning and attempts, credit notes, refunds) read in its schema.
Actions go through the same services as the API, with the admin user as the actor."""

from __future__ import annotations

import time
from contextvars import ContextVar

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django_tenants.utils import tenant_context
from djstripe.models import Coupon as StripeCoupon
from djstripe.models import Invoice

from billing_project import money
from billing_project.api.exceptions import DomainError
from billing_project.money import money_text
from invoicing import selectors
from invoicing.models import InvoiceDocument, InvoiceState, PaymentAttempt, Refund
from invoicing.services import documents as document_services
from invoicing.services import finance, payments
from invoicing.services.common import emit
from policies.selectors import policy_get
from tenants.selectors import tenant_list


class StatusFilter(admin.SimpleListFilter):
    title, parameter_name = "status", "status"

    def lookups(self, request, model_admin):
        return [(s, s) for s in ("open", "paid", "void", "uncollectible", "draft")]

    def queryset(self, request, queryset):
        return queryset.filter(stripe_data__status=self.value()) if self.value() else queryset


class OverdueFilter(admin.SimpleListFilter):
    """Open and past the due date (Stripe's, or finalization + the policy's days for auto-charge)."""

    title, parameter_name = "overdue", "overdue"

    def lookups(self, request, model_admin):
        return [("yes", "Overdue")]

    def queryset(self, request, queryset):
        if self.value() != "yes":
            return queryset
        now = int(time.time())
        auto = now - policy_get().auto_charge_due_days * 86400
        open_ = queryset.filter(stripe_data__status="open")
        return open_.filter(stripe_data__due_date__lt=now) | open_.filter(
            stripe_data__due_date__isnull=True,
            stripe_data__status_transitions__finalized_at__lt=auto,
        )


class RefundForm(forms.Form):
    amount = forms.CharField(
        required=False, help_text="Decimal in the invoice's currency; empty: all not refunded."
    )
    reason = forms.CharField(widget=forms.Textarea)


class CreditNoteForm(forms.Form):
    amount = forms.CharField(help_text="Decimal in the invoice's currency.")
    reason = forms.CharField(widget=forms.Textarea)


def _money(amount, currency) -> str:
    return money_text(amount or 0, currency or "usd")


def invoice_title(invoice) -> str:
    """What the admin (titles, breadcrumbs, the history and the messages) calls an invoice: its number,
    the total it is for and, while it is open, what is still due: "Invoice ACME-0007 for $290.00 (open,
    $290.00 due)". dj-stripe's own __str__ printed amount_paid, in minor units read as major units:
    "$6,775.00" for a $67.75 invoice, "$0.00" for any unpaid one."""
    data = invoice.stripe_data or {}
    number = data.get("number") or invoice.id
    currency, status = data.get("currency"), data.get("status") or "-"
    total = _money(data.get("total"), currency)
    if status == "open":
        return f"Invoice {number} for {total} ({status}, {_money(data.get('amount_remaining'), currency)} due)"
    return f"Invoice {number} for {total} ({status})"


# One name for an invoice wherever Django prints one (the admin's titles and log entries included).
Invoice.__str__ = invoice_title


def _coupon_amount(coupon) -> str:
    data = coupon.stripe_data or {}
    if data.get("percent_off"):
        return f"{data['percent_off']}% off"
    return f"{_money(data.get('amount_off'), data.get('currency'))} off"


# dj-stripe's coupon title read Stripe's amount_off (minor units) as major units too: "$500.00 off" for $5.
StripeCoupon.human_readable_amount = property(_coupon_amount)

# Who may do what on an invoice. Model permissions of dj-stripe's Invoice (granted to the staff groups
# by tenants/migrations/0003): money actions need "change"; resending what the tenant was sent (and
# re-rendering its PDF) needs the permission to resend notifications, which support has too.
MONEY_PERMISSION = "djstripe.change_invoice"
RESEND_PERMISSION = "notifications.change_delivery"


def _creditable(tenant, data) -> int:
    """Minor units a credit note may still take off an open invoice (0 for any other invoice)."""
    return int(data.get("amount_remaining") or 0) if data.get("status") == "open" else 0


def _refundable(tenant, data) -> int:
    with tenant_context(tenant):
        return selectors.refundable_amount(data=data)


_change_request: ContextVar = ContextVar("invoice_admin_request", default=None)

admin.site.unregister(Invoice)


@admin.register(Invoice)
class FinanceInvoiceAdmin(admin.ModelAdmin):
    """Replaces dj-stripe's invoice admin (whose change page needs fields this dj-stripe lacks)."""

    list_display = [
        "number",
        "tenant",
        "status",
        "total",
        "amount_paid",
        "amount_remaining",
        "created",
    ]
    list_filter = [
        StatusFilter,
        OverdueFilter,
        ("customer__subscriber", admin.RelatedOnlyFieldListFilter),
    ]
    date_hierarchy = "created"
    search_fields = [
        "id",
        "stripe_data__number",
        "customer__subscriber__slug",
        "customer__subscriber__name",
    ]
    list_select_related = ["customer__subscriber"]
    actions = ["retry_payment", "resend", "rerender_pdf", "void", "mark_uncollectible"]

    fields = readonly_fields = (
        "id",
        "tenant",
        "status",
        "total",
        "amount_paid",
        "amount_remaining",
        "created",
        "finance_panel",
    )

    def has_add_permission(self, request):
        return False  # invoices are made by Stripe

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # the invoice is Stripe's: it changes through the money actions only (MONEY_PERMISSION)

    @admin.display(description="tenant")
    def tenant(self, obj):
        return obj.customer.subscriber if obj.customer_id else None

    @admin.display(description="status")
    def status(self, obj):
        return obj.stripe_data.get("status")

    @admin.display(description="total")
    def total(self, obj):
        return _money(obj.stripe_data.get("total"), obj.stripe_data.get("currency"))

    @admin.display(description="paid")
    def amount_paid(self, obj):
        return _money(obj.stripe_data.get("amount_paid"), obj.stripe_data.get("currency"))

    @admin.display(description="due")
    def amount_remaining(self, obj):
        return _money(obj.stripe_data.get("amount_remaining"), obj.stripe_data.get("currency"))

    @admin.display(description="Lines, PDF, dunning, credit notes, refunds")
    def finance_panel(self, obj):
        tenant = self.tenant(obj)
        if tenant is None:
            return "No tenant linked to this customer."
        view = selectors.invoice_view(obj.stripe_data, with_lines=True)
        with tenant_context(tenant):
            state = InvoiceState.objects.filter(invoice_id=obj.id).first()
            document = InvoiceDocument.objects.filter(invoice_id=obj.id).first()
            attempts = list(PaymentAttempt.objects.filter(invoice_id=obj.id))
            notes = list(selectors.credit_note_list(invoice_id=obj.id))
            refunds = list(Refund.objects.filter(invoice_id=obj.id))
        lines = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (line.kind, line.description, line.quantity, _money(line.amount, line.currency))
                for line in view.lines
            ),
        )
        pdf = (
            format_html(
                '<a href="{}">PDF</a> (sha256 {}, {} pages, {})',
                reverse("admin:invoicing_invoice_pdf", args=[obj.pk]),
                document.checksum[:12],
                document.pages,
                document.invoice_status,
            )
            if document is not None and document.status == "ready"
            else "PDF not rendered"
        )
        dunning = (
            f"{state.dunning}; retries done {state.retries_done}; next retry {state.next_retry_at or '-'}; "
            f"last decline {state.last_decline_code or '-'}; overdue since {state.overdue_since or '-'}"
            if state
            else "no state"
        )
        return format_html(
            "<table><tr><th>kind</th><th>description</th><th>qty</th><th>amount</th></tr>{}</table>"
            "<p>{}</p><p>Dunning: {}</p><p>Attempts: {}</p><p>Credit notes: {}</p><p>Refunds: {}</p><p>{}</p>",
            lines,
            pdf,
            dunning,
            "; ".join(f"#{a.attempt} {a.outcome} {a.trigger} {a.decline_code}" for a in attempts)
            or "none",
            "; ".join(f"{n.number} {n.kind} {_money(n.amount, n.currency)}" for n in notes)
            or "none",
            "; ".join(
                f"{r.status} {_money(r.amount, r.currency)} by {r.requested_by}" for r in refunds
            )
            or "none",
            self._money_links(obj, tenant),
        )

    def _money_links(self, obj, tenant):
        """The money actions this invoice allows now: a refund of what was paid and not yet refunded
        (paid invoices), a credit note on what is still due (open ones). Shown to finance only."""
        request = _change_request.get()
        if request is None or not request.user.has_perm(MONEY_PERMISSION):
            return ""
        data, links = obj.stripe_data, []
        refundable = _refundable(tenant, data)
        if refundable > 0:
            links.append(
                format_html(
                    '<a href="{}">Refund…</a> (up to {})',
                    reverse("admin:invoicing_invoice_refund", args=[obj.pk]),
                    _money(refundable, data.get("currency")),
                )
            )
        creditable = _creditable(tenant, data)
        if creditable > 0:
            links.append(
                format_html(
                    '<a href="{}">Credit note…</a> (up to {})',
                    reverse("admin:invoicing_invoice_credit_note", args=[obj.pk]),
                    _money(creditable, data.get("currency")),
                )
            )
        return (
            format_html_join(" · ", "{}", ((link,) for link in links))
            or "No refund or credit note possible."
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # Read-only fields are given only the object; the panel's links depend on the user's rights.
        token = _change_request.set(request)
        try:
            response = super().change_view(request, object_id, form_url, extra_context)
            if hasattr(response, "render"):
                response.render()  # the panel is drawn when the template renders: while the request is known
            return response
        finally:
            _change_request.reset(token)

    # --- actions ---------------------------------------------------------------------------

    def _each(self, request, queryset, label, call):
        for invoice in queryset.select_related("customer__subscriber"):
            tenant = self.tenant(invoice)
            if tenant is None:
                continue
            try:
                with tenant_context(tenant):
                    call(tenant, invoice)
                self.message_user(request, f"{label}: {invoice.id} done.")
            except DomainError as exc:
                self.message_user(request, f"{label}: {invoice.id}: {exc.message}", messages.ERROR)

    def has_money_permission(self, request):
        return request.user.has_perm(MONEY_PERMISSION)

    def has_resend_permission(self, request):
        return request.user.has_perm(RESEND_PERMISSION)

    def _require(self, request, permission: str) -> None:
        if not request.user.has_perm(permission):
            raise PermissionDenied

    @admin.action(description="Retry payment now", permissions=["money"])
    def retry_payment(self, request, queryset):
        self._each(
            request,
            queryset,
            "Retry",
            lambda t, i: payments.invoice_pay(
                tenant=t, invoice_id=i.id, actor=request.user.email, raise_decline=False
            ),
        )

    @admin.action(
        description="Resend (announce the invoice to the tenant again)", permissions=["resend"]
    )
    def resend(self, request, queryset):
        self._each(
            request,
            queryset,
            "Resend",
            lambda t, i: emit(
                tenant=t,
                kind="invoice_finalized",
                object_id=i.id,
                dedup_key=f"invoice_finalized:{i.id}:{time.time_ns()}",
                data={
                    "invoice_number": i.stripe_data.get("number"),
                    "resent_by": request.user.email,
                },
            ),
        )

    @admin.action(description="Re-render PDF", permissions=["resend"])
    def rerender_pdf(self, request, queryset):
        self._each(
            request,
            queryset,
            "Re-render",
            lambda t, i: document_services.document_request(tenant=t, invoice_id=i.id),
        )

    @admin.action(description="Void", permissions=["money"])
    def void(self, request, queryset):
        self._each(
            request,
            queryset,
            "Void",
            lambda t, i: finance.invoice_void(tenant=t, invoice_id=i.id, actor=request.user.email),
        )

    @admin.action(description="Mark uncollectible", permissions=["money"])
    def mark_uncollectible(self, request, queryset):
        self._each(
            request,
            queryset,
            "Uncollectible",
            lambda t, i: finance.invoice_mark_uncollectible(
                tenant=t, invoice_id=i.id, actor=request.user.email
            ),
        )

    # --- views: PDF, refund and credit-note forms, refunds pending approval -----------------------

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<path:pk>/pdf/", wrap(self.pdf_view), name="invoicing_invoice_pdf"),
            path("<path:pk>/refund/", wrap(self.refund_view), name="invoicing_invoice_refund"),
            path(
                "<path:pk>/credit-note/",
                wrap(self.credit_note_view),
                name="invoicing_invoice_credit_note",
            ),
            path(
                "refunds-pending/",
                wrap(self.pending_refunds_view),
                name="invoicing_refunds_pending",
            ),
        ] + super().get_urls()

    def _invoice_and_tenant(self, pk):
        invoice = get_object_or_404(Invoice.objects.select_related("customer__subscriber"), pk=pk)
        tenant = self.tenant(invoice)
        if tenant is None:
            raise Http404("No tenant for this invoice.")
        return invoice, tenant

    def pdf_view(self, request, pk):
        if not self.has_view_permission(request):
            raise PermissionDenied
        invoice, tenant = self._invoice_and_tenant(pk)
        with tenant_context(tenant):
            document = selectors.document_get(invoice_id=invoice.id)
            if document is None or document.status != "ready":
                raise Http404("The PDF is not rendered yet.")
            return FileResponse(document.file.open("rb"), content_type="application/pdf")

    def _money_form(self, request, pk, form_class, title, submit, *, available):
        """The form of a money action; `available(tenant, data)` is how much it may move (0: not offered
        on this invoice: back to the invoice with the reason, as the service would refuse it)."""
        self._require(request, MONEY_PERMISSION)
        invoice, tenant = self._invoice_and_tenant(pk)
        limit = available(tenant, invoice.stripe_data)
        if limit <= 0:
            self.message_user(
                request,
                f"{title}: not possible on this invoice "
                f"({invoice.stripe_data.get('status')}, nothing left to {title.lower()}).",
                messages.ERROR,
            )
            return redirect("admin:djstripe_invoice_change", invoice.pk)
        form = form_class(request.POST or None)
        form.fields["amount"].help_text = (
            f"Decimal in the invoice's currency, at most "
            f"{money.to_major(limit, invoice.stripe_data['currency'])} "
            f"({_money(limit, invoice.stripe_data['currency'])})"
            + ("; empty: all of it." if not form.fields["amount"].required else ".")
        )
        if request.method == "POST" and form.is_valid():
            currency = invoice.stripe_data["currency"]
            raw = form.cleaned_data.get("amount")
            try:
                amount = money.to_minor(raw, currency) if raw else None
                with tenant_context(tenant):
                    result = submit(tenant, invoice, amount, form.cleaned_data["reason"])
                self.message_user(request, f"{title}: {result}")
                return redirect("admin:djstripe_invoice_change", invoice.pk)
            except (DomainError, money.MoneyError) as exc:
                form.add_error(None, getattr(exc, "message", str(exc)))
        return render(
            request,
            "invoicing/admin/money_form.html",
            {
                **self.admin_site.each_context(request),
                "title": f"{title} {invoice.stripe_data.get('number')}",
                "form": form,
                "opts": self.model._meta,
            },
        )

    def refund_view(self, request, pk):
        return self._money_form(
            request,
            pk,
            RefundForm,
            "Refund",
            lambda t, i, amount, reason: finance.refund_create(
                tenant=t, invoice_id=i.id, amount=amount, reason=reason, actor=request.user.email
            ),
            available=_refundable,
        )

    def credit_note_view(self, request, pk):
        def submit(t, i, amount, reason):
            if amount is None:
                raise DomainError("Give an amount.")
            return finance.credit_note_create(
                tenant=t, invoice_id=i.id, amount=amount, reason=reason, actor=request.user.email
            )

        return self._money_form(
            request, pk, CreditNoteForm, "Credit note", submit, available=_creditable
        )

    def pending_refunds_view(self, request):
        """Refunds waiting for a checker, across tenants (one query per tenant schema)."""
        self._require(request, MONEY_PERMISSION)
        if request.method == "POST":
            tenant = get_object_or_404(tenant_list(), slug=request.POST["tenant"])
            service = (
                finance.refund_approve
                if request.POST.get("decision") == "approve"
                else finance.refund_reject
            )
            try:
                with tenant_context(tenant):
                    service(
                        tenant=tenant, refund_id=request.POST["refund"], actor=request.user.email
                    )
                self.message_user(request, "Refund decided.")
            except DomainError as exc:
                self.message_user(request, exc.message, messages.ERROR)
            return redirect("admin:invoicing_refunds_pending")
        rows = []
        for tenant in tenant_list():
            with tenant_context(tenant):
                rows.extend(
                    (tenant, refund, _money(refund.amount, refund.currency))
                    for refund in selectors.refund_list_pending()
                )
        return render(
            request,
            "invoicing/admin/refunds_pending.html",
            {
                **self.admin_site.each_context(request),
                "title": "Refunds pending approval",
                "rows": rows,
                "opts": self.model._meta,
            },
        )
