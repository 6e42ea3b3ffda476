"""Portal page of prepaid credits: balance, grants, ledger, "Add credits", auto top-up settings."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from billing_project import money
from credits import selectors, services
from credits.forms import CreditSettingsForm, TopUpForm
from portal.access import member_required
from portal.templatetags.portal import money as money_text
from subscriptions.selectors import billing_account_get


def _currency(request) -> str:
    """The currency the tenant is billed in (its plan's), else its first wallet's, else usd."""
    account = billing_account_get(tenant=request.tenant)
    plan = getattr(account, "plan", None)
    if plan is not None and getattr(plan, "currency", None):
        return plan.currency.lower()
    wallet = selectors.wallet_list(tenant=request.tenant).first()
    return wallet.currency if wallet is not None else "usd"


def _page(request, *, top_up=None, settings_form=None, status=200):
    tenant, currency = request.tenant, _currency(request)
    wallets = list(selectors.wallet_list(tenant=tenant))
    wallet = next((w for w in wallets if w.currency == currency), None)

    def major(value):
        return None if value is None else money.to_major(value, currency)

    if settings_form is None:
        settings_form = CreditSettingsForm(
            initial={
                "currency": currency,
                "auto_top_up_below": major(getattr(wallet, "auto_top_up_below", None)),
                "auto_top_up_amount": major(getattr(wallet, "auto_top_up_amount", None)),
                "low_balance_below": major(getattr(wallet, "low_balance_below", None)),
            }
        )
    context = {
        "currency": currency,
        "wallets": wallets or [{"currency": currency, "balance": 0}],
        "grants": selectors.grant_list(tenant=tenant)[:50],
        "entries": selectors.ledger_list(tenant=tenant)[:50],
        "top_up_form": top_up or TopUpForm(initial={"currency": currency}),
        "settings_form": settings_form,
        "can_write": request.membership.role in ("owner", "billing_admin"),
    }
    return render(request, "credits/portal_credits.html", context, status=status)


@never_cache
@member_required
def credits_page(request):
    return _page(request)


@require_POST
@member_required
def credits_top_up(request):
    form = TopUpForm(request.POST)
    if form.is_valid():
        grant = form.call(
            services.credit_top_up,
            tenant=request.tenant,
            amount=form.minor(),
            currency=form.cleaned_data["currency"],
            actor=request.user.email,
        )
        if grant is not None:
            messages.success(
                request,
                _("%(amount)s of credit was added.")
                % {"amount": money_text(grant.amount, grant.wallet.currency)},
            )
            return redirect("portal:credits")
    return _page(request, top_up=form, status=400)


@require_POST
@member_required
def credits_settings(request):
    form = CreditSettingsForm(request.POST)
    if form.is_valid():
        wallet = form.call(
            services.wallet_settings_update,
            tenant=request.tenant,
            currency=form.cleaned_data["currency"],
            actor=request.user.email,
            **form.values(),
        )
        if wallet is not None:
            messages.success(request, _("Credit settings saved."))
            return redirect("portal:credits")
    return _page(request, settings_form=form, status=400)
