"""Portal page of the spend budget: set, change or remove it; this period's spend, projection, a
bar and the alerts sent."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from billing_project import money
from billing_project.errors import DomainError
from budgets import selectors, services
from budgets.forms import BudgetForm
from portal.access import member_required
from subscriptions.selectors import billing_currency_get


def _percent(part: int, whole: int) -> int:
    return part * 100 // whole if whole > 0 else 0


def _page(request, *, form=None, status=200):
    tenant = request.tenant
    view = selectors.budget_view(tenant=tenant)
    budget = view["budget"] if view is not None else None
    # Without a budget, the currency it would be set in: its plan's (budget_set requires it), else
    # the one it would be billed in (its billing country's, when plans are offered in it).
    currency = (
        budget.currency
        if budget is not None
        else selectors.billed_currency(tenant=tenant) or billing_currency_get(tenant=tenant)
    )
    spend = selectors.spend_get(tenant=tenant, currency=currency)
    if form is None:
        form = BudgetForm(
            initial={
                "currency": currency,
                "amount": money.to_major(budget.amount, currency) if budget else None,
                "hard_cap": budget.hard_cap if budget else False,
            }
        )
    context = {
        "budget": budget,
        "view": view,
        "currency": currency,
        "spent": spend.spent,
        "projected": spend.projected,
        "period_start": spend.period_start,
        "period_end": spend.period_end,
        "percent": _percent(spend.spent, budget.amount) if budget else None,
        "percent_projected": _percent(spend.projected, budget.amount) if budget else None,
        "alerts": view["alerts_sent"] if view else [],
        "form": form,
        "can_write": request.membership.role in ("owner", "billing_admin"),
    }
    return render(request, "budgets/portal_budget.html", context, status=status)


@never_cache
@member_required
def budget_page(request):
    return _page(request)


@require_POST
@member_required
def budget_save(request):
    form = BudgetForm(request.POST)
    if form.is_valid():
        budget = form.call(
            services.budget_set,
            tenant=request.tenant,
            amount=form.minor(),
            currency=form.cleaned_data["currency"],
            hard_cap=form.cleaned_data["hard_cap"],
            actor=request.user.email,
        )
        if budget is not None:
            messages.success(request, _("Budget saved."))
            return redirect("portal:budget")
    return _page(request, form=form, status=400)


@require_POST
@member_required
def budget_remove(request):
    try:
        services.budget_delete(tenant=request.tenant, actor=request.user.email)
    except DomainError:
        pass  # already removed (another tab): the page says there is none
    else:
        messages.success(request, _("Budget removed."))
    return redirect("portal:budget")
