"""Finance back-office for commitments: a plan's default minimum commitment and usage threshold,
one tenant's own (both through the service: audited); true-ups and threshold invoices read-only.
Amounts are entered in major units of the plan's currency."""

from django.contrib import admin, messages

from billing_project.admin_kit import MajorUnitsForm, MoneyAdmin, ReadOnlyAdmin, money_column
from billing_project.errors import DomainError
from commitments import services
from commitments.models import CommitmentTrueUp, PlanTerms, SubscriptionTerms, ThresholdInvoice
from commitments.selectors import terms_currency
from subscriptions.models import BillingAccount, Plan
from tenants.models import Tenant


class TermsForm(MajorUnitsForm):
    """A minimum commitment and usage threshold, in major units of the owner's currency."""

    major_units = ("minimum_commitment", "usage_threshold")
    positive = ("usage_threshold",)


class PlanTermsForm(TermsForm):
    class Meta:
        model = PlanTerms
        fields = ["plan", "minimum_commitment", "usage_threshold"]

    def amount_currency(self, values) -> str:
        plan = values.get("plan")
        if not isinstance(plan, Plan):  # the initial values name it by id; the row has it
            plan = self.instance.plan if self.instance.plan_id else None
        return plan.currency if plan is not None else "usd"


class SubscriptionTermsForm(TermsForm):
    class Meta:
        model = SubscriptionTerms
        fields = ["tenant", "minimum_commitment", "usage_threshold"]

    def amount_currency(self, values) -> str:
        tenant = values.get("tenant")
        if not isinstance(tenant, Tenant):
            tenant = self.instance.tenant if self.instance.tenant_id else None
        return _terms_currency(tenant) if tenant is not None else "usd"


def _terms_currency(tenant) -> str:
    """terms_currency of the tenant's billing account, read through the relation (which a list
    selects with its rows)."""
    try:
        account = tenant.billing_account
    except BillingAccount.DoesNotExist:
        account = None
    return terms_currency(account)


class TermsAdmin(MoneyAdmin):
    """The terms of one owner (a plan or a tenant), amounts shown as money in its currency."""

    owner_field = ""

    def get_list_display(self, request):
        return [self.owner_field, "minimum_commitment_text", "usage_threshold_text", "updated"]

    def get_fields(self, request, obj=None):
        return [self.owner_field, "minimum_commitment", "usage_threshold"]

    def get_readonly_fields(self, request, obj=None):
        return [self.owner_field] if obj is not None else []

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        owner = getattr(obj, self.owner_field)
        try:
            saved = self.terms_set(
                owner,
                minimum_commitment=form.cleaned_data.get("minimum_commitment"),
                usage_threshold=form.cleaned_data.get("usage_threshold"),
                actor=request.user.email,
            )
        except DomainError as exc:
            self.message_user(request, f"Terms not saved: {exc.message}", messages.ERROR)
            return
        obj.pk = saved.pk
        obj._state.adding = False

    def terms_set(self, owner, **values):
        raise NotImplementedError


@admin.register(PlanTerms)
class PlanTermsAdmin(TermsAdmin):
    form = PlanTermsForm
    owner_field = "plan"
    list_select_related = ["plan"]
    money_fields = dict.fromkeys(("minimum_commitment", "usage_threshold"), "plan.currency")

    def terms_set(self, owner, **values):
        return services.plan_terms_set(plan=owner, **values)


@admin.register(SubscriptionTerms)
class SubscriptionTermsAdmin(TermsAdmin):
    form = SubscriptionTermsForm
    owner_field = "tenant"
    # A tenant's terms are in its plan's currency: read with the rows, not once per row.
    list_select_related = ["tenant__billing_account__plan"]
    search_fields = ["tenant__slug", "tenant__name"]
    money_fields = dict.fromkeys(
        ("minimum_commitment", "usage_threshold"), lambda row: _terms_currency(row.tenant)
    )

    def terms_set(self, owner, **values):
        return services.subscription_terms_set(tenant=owner, **values)


@admin.register(CommitmentTrueUp)
class CommitmentTrueUpAdmin(ReadOnlyAdmin):
    list_display = [
        "tenant",
        "period_start",
        "committed_text",
        "spent_text",
        "amount_text",
        "invoice_id",
    ]
    list_select_related = ["tenant"]
    search_fields = ["tenant__slug", "invoice_id", "subscription_id"]
    money_fields = {"committed": "currency", "spent": "currency", "amount": "currency"}
    amount_text = money_column("amount", "True-up")


@admin.register(ThresholdInvoice)
class ThresholdInvoiceAdmin(ReadOnlyAdmin):
    list_display = ["tenant", "period_start", "sequence", "amount_text", "status", "invoice_id"]
    list_filter = ["status"]
    list_select_related = ["tenant"]
    money_fields = {"threshold": "currency", "amount": "currency", "usage_total": "currency"}
    search_fields = ["tenant__slug", "invoice_id", "subscription_id"]
