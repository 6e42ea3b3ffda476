"""Finance back-office for prepaid credits: grant credit (through the service: a reason required,
audited, put on the Stripe customer's balance), void what is left of a grant; wallets, ledger and
invoice credits read-only."""

from django import forms
from django.contrib import admin, messages
from django.http import HttpResponseRedirect

from billing_project.admin_kit import MajorUnitsForm, MoneyAdmin, ReadOnlyAdmin
from billing_project.errors import DomainError
from credits import services
from credits.models import CreditGrant, CreditLedgerEntry, CreditWallet, InvoiceCredit
from subscriptions.admin import run_each
from tenants.models import Tenant


class CreditGrantForm(MajorUnitsForm):
    major_units = positive = ("amount",)

    tenant = forms.ModelChoiceField(queryset=Tenant.objects.order_by("name"))
    currency = forms.RegexField(r"^[a-z]{3}$", initial="usd", help_text="Lower-case ISO code.")
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), help_text="Audited.")

    class Meta:
        model = CreditGrant
        fields = ["tenant", "amount", "category", "expires_at", "reason"]


@admin.register(CreditGrant)
class CreditGrantAdmin(MoneyAdmin):
    form = CreditGrantForm
    list_display = [
        "pk",
        "tenant",
        "category",
        "source",
        "amount_text",
        "remaining_text",
        "expires_at",
        "state",
        "actor",
        "granted_at",
    ]
    list_filter = ["category", "source", "state"]
    list_select_related = ["tenant", "wallet"]
    search_fields = ["tenant__slug", "tenant__name", "reason", "payment_intent_id"]
    actions = ["void"]
    money_fields = {field: "wallet.currency" for field in ("amount", "remaining", "closed_amount")}

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["tenant", "currency", "amount", "category", "expires_at", "reason"]
        return [f.name for f in CreditGrant._meta.fields]

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj) if obj is not None else []

    def has_change_permission(self, request, obj=None):
        # A grant's terms are fixed once given (the ledger refers to them); void it instead.
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        try:
            created = services.credit_grant_create(
                tenant=data["tenant"],
                amount=data["amount"],
                currency=data["currency"],
                category=data["category"],
                reason=data["reason"],
                expires_at=data.get("expires_at"),
                actor=request.user.email,
            )
        except DomainError as exc:
            self.message_user(request, f"Credit not granted: {exc.message}", messages.ERROR)
            return
        obj.pk, obj.wallet, obj.amount = created.pk, created.wallet, created.amount
        obj._state.adding = False

    def log_addition(self, request, obj, message):
        if obj.pk is not None:
            return super().log_addition(request, obj, message)

    def response_add(self, request, obj, post_url_continue=None):
        if obj.pk is None:
            return HttpResponseRedirect(request.path)
        return super().response_add(request, obj, post_url_continue)

    @admin.action(description="Void what is left of the selected grants", permissions=["change"])
    def void(self, request, queryset):
        run_each(
            self,
            request,
            queryset.filter(state=CreditGrant.State.ACTIVE),
            "Grants voided",
            lambda grant: services.credit_grant_void(grant=grant, actor=request.user.email),
        )


@admin.register(CreditWallet)
class CreditWalletAdmin(ReadOnlyAdmin):
    money_fields = {
        field: "currency"
        for field in ("balance", "auto_top_up_below", "auto_top_up_amount", "low_balance_below")
    }
    list_display = ["tenant", *(f"{field}_text" for field in money_fields)]
    list_select_related = ["tenant"]
    search_fields = ["tenant__slug", "tenant__name"]


@admin.register(CreditLedgerEntry)
class CreditLedgerEntryAdmin(ReadOnlyAdmin):
    list_display = [
        "pk",
        "tenant",
        "kind",
        "grant",
        "amount_text",
        "balance_after_text",
        "invoice_id",
        "occurred_at",
    ]
    list_filter = ["kind"]
    list_select_related = ["tenant", "wallet", "grant__wallet"]
    money_fields = {"amount": "wallet.currency", "balance_after": "wallet.currency"}
    search_fields = ["tenant__slug", "invoice_id"]


@admin.register(InvoiceCredit)
class InvoiceCreditAdmin(ReadOnlyAdmin):
    list_display = ["tenant", "invoice_id", "amount_text", "created"]
    list_select_related = ["tenant", "wallet"]
    search_fields = ["tenant__slug", "invoice_id"]
    money_fields = {"amount": "wallet.currency"}
