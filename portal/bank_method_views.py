"""Portal pages for payment methods beyond cards: add a SEPA Direct Debit account (the mandate is
shown and accepted on the payment methods page), and PayPal (sent to PayPal's approval page, back
to the return page)."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from billing_project.client_ip import client_ip
from billing_project.errors import DomainError
from portal.access import WRITE_ROLES, member_required
from portal.bank_method_forms import SepaDebitAddForm
from subscriptions.services import bank_methods

PAYPAL_ERRORS = {
    "paypal_not_approved": gettext_lazy("PayPal was not approved; nothing was added."),
    "not_found": gettext_lazy("No such PayPal approval."),
}


def _next_page(request) -> str:
    """Back to where the visitor came from (the subscribe page adds a method too), else the list."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("portal:payment-methods")


def _back_with(target: str, payment_method_id: str) -> str:
    """The page that asked for the new method, told which one it is (the subscribe page chooses it)."""
    if target == reverse("portal:payment-methods"):
        return target
    parts = urlsplit(target)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "payment_method"]
    query.append(("payment_method", payment_method_id))
    return urlunsplit(parts._replace(query=urlencode(query)))


def _error_text(exc: DomainError) -> str:
    from portal.forms import PAYMENT_ERROR_MESSAGES

    if exc.code in PAYPAL_ERRORS:
        return str(PAYPAL_ERRORS[exc.code])
    return str(PAYMENT_ERROR_MESSAGES.get(exc.code, exc.message))


@require_POST
@member_required(while_suspended=True)
def payment_method_sepa_add(request):
    form = SepaDebitAddForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(_next_page(request))
    data = form.cleaned_data
    try:
        method = bank_methods.sepa_debit_attach(
            tenant=request.tenant,
            iban=data["iban"],
            account_holder=data["account_holder"],
            email=request.user.email,
            mandate_ip=client_ip(request),
            mandate_user_agent=request.headers.get("User-Agent", ""),
            set_default=data["set_default"],
            actor=request.user.email,
        )
    except DomainError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, _("%(label)s was added.") % {"label": method["label"]})
        return redirect(_back_with(_next_page(request), method["payment_method_id"]))
    return redirect(_next_page(request))


@require_POST
@member_required(while_suspended=True)
def payment_method_paypal_start(request):
    back = request.build_absolute_uri(reverse("portal:payment-method-paypal-return"))
    target = _next_page(request)
    if target != reverse("portal:payment-methods"):
        request.session["paypal_next"] = target
    try:
        started = bank_methods.paypal_setup_start(
            tenant=request.tenant,
            return_url=back,
            set_default=request.POST.get("set_default") == "on",
            actor=request.user.email,
        )
    except DomainError as exc:
        messages.error(request, _error_text(exc))
        return redirect(target)
    return redirect(started["approval_url"])


@never_cache
@member_required(read=WRITE_ROLES, while_suspended=True)
def payment_method_paypal_return(request):
    target = request.session.pop("paypal_next", None) or reverse("portal:payment-methods")
    setup_intent = request.GET.get("setup_intent", "")
    if not setup_intent.startswith("seti_"):
        messages.error(request, str(PAYPAL_ERRORS["not_found"]))
        return redirect(target)
    try:
        method = bank_methods.paypal_setup_finish(
            tenant=request.tenant, setup_intent_id=setup_intent, actor=request.user.email
        )
    except DomainError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, _("%(label)s was added.") % {"label": method["label"]})
        return redirect(_back_with(target, method["payment_method_id"]))
    return redirect(target)
