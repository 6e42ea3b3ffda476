"""Finance back-office for spend budgets: read every tenant's budget with this period's spend, and
change one (through the service: validated, audited, the hard cap re-evaluated); the alerts sent
read-only. Tenants set and remove budgets themselves (portal, API)."""

from django.contrib import admin, messages
from django.http import HttpResponseRedirect

from billing_project.admin_kit import MajorUnitsForm, ReadOnlyAdmin, money_column
from billing_project.errors import DomainError
from billing_project.money import money_text
from budgets import selectors, services
from budgets.models import Budget, BudgetAlert


class BudgetForm(MajorUnitsForm):
    major_units = positive = ("amount",)

    class Meta:
        model = Budget
        fields = ["amount", "currency", "hard_cap"]


@admin.register(Budget)
class BudgetAdmin(admin.ModelAdmin):
    form = BudgetForm
    list_display = ["tenant", "amount_text", "hard_cap", "spent_text", "capped_until", "updated"]
    list_filter = ["hard_cap", "currency"]
    list_select_related = ["tenant"]
    search_fields = ["tenant__slug", "tenant__name"]
    fields = ["tenant", "amount", "currency", "hard_cap", "capped_until", "updated"]
    readonly_fields = ["tenant", "capped_until", "updated"]
    amount_text = money_column("amount", "Budget")

    def has_add_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Spent this period")
    def spent_text(self, budget):
        spend = selectors.spend_get(tenant=budget.tenant, currency=budget.currency)
        return money_text(spend.spent, budget.currency)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        try:
            services.budget_set(
                tenant=obj.tenant,
                amount=data["amount"],
                currency=data["currency"],
                hard_cap=data["hard_cap"],
                actor=request.user.email,
            )
        except DomainError as exc:
            setattr(obj, "not_saved", True)  # noqa: B010 -- a mark for response_change, not a field
            self.message_user(request, f"Budget not saved: {exc.message}", messages.ERROR)

    def log_change(self, request, obj, message):
        if not getattr(obj, "not_saved", False):
            return super().log_change(request, obj, message)

    def response_change(self, request, obj):
        if getattr(obj, "not_saved", False):
            return HttpResponseRedirect(request.path)  # the form again, with the error above it
        return super().response_change(request, obj)


@admin.register(BudgetAlert)
class BudgetAlertAdmin(ReadOnlyAdmin):
    list_display = ["tenant", "period_start", "threshold", "spent_text", "amount_text", "sent_at"]
    list_filter = ["threshold"]
    list_select_related = ["tenant"]
    search_fields = ["tenant__slug", "tenant__name"]
    money_fields = {"spent": "currency", "amount": "currency"}
    amount_text = money_column("amount", "Budget")
