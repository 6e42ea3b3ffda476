"""Portal pages to subscribe (or subscribe again) and to confirm a payment the bank wants the
customer to authenticate (3-D Secure). Thin: the subscriptions, coupons and invoicing services do
the work; portal.subscribe prices the offer."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from billing_project.errors import AuthenticationRequired, DomainError
from coupons import services as coupon_services
from invoicing.services import authentication as payment_authentication
from portal import services
from portal.access import WRITE_ROLES, member_required
from portal.subscribe import cycle_of, plan_offer_get, plan_offers, subscribe_quote
from portal.subscribe_forms import COUPON_ERRORS, SubscribeForm
from portal.views import _payment_error, _stripe_test_mode
from subscriptions import selectors as subscription_selectors
from subscriptions.services import payment_methods as payment_method_services
from subscriptions.services import subscriptions as subscription_services


def confirm_payment_redirect(error: AuthenticationRequired):
    """Where a portal action whose payment needs 3-D Secure sends the customer."""
    return redirect("portal:payment-confirm", invoice_id=error.detail["invoice_id"])


@member_required(read=WRITE_ROLES)
def subscribe(request):
    """The plans, for a monthly or yearly cycle, to a tenant without a live subscription."""
    if subscription_selectors.subscription_get_current(tenant=request.tenant) is not None:
        return redirect("portal:plans")
    cycle = cycle_of(request.GET.get("cycle"))
    return render(
        request,
        "portal/subscribe.html",
        {"offers": plan_offers(tenant=request.tenant, cycle=cycle), "cycle": cycle},
    )


def _cards(request) -> tuple[list[dict], str | None]:
    try:
        return payment_method_services.payment_method_list(tenant=request.tenant), None
    except DomainError as exc:
        return [], _payment_error(exc)


@never_cache
@member_required(read=WRITE_ROLES)
def subscribe_plan(request, plan_id: str):
    """One plan: coupon (checked on "Apply" and again on confirm), payment method, what is due
    now; confirm subscribes and lands on the dashboard, or on the 3-D Secure page."""
    if subscription_selectors.subscription_get_current(tenant=request.tenant) is not None:
        return redirect("portal:plans")
    data = request.POST if request.method == "POST" else None
    cycle = cycle_of((data or request.GET).get("cycle"))
    offer = plan_offer_get(plan_id=plan_id, cycle=cycle)
    if offer is None:
        raise Http404("No such plan.")
    cards, load_error = _cards(request)
    # Only the methods that can pay the plan's currency are offered (SEPA Direct Debit: EUR).
    sepa_ok = payment_method_services.method_pays_in("sepa_debit", offer.plan.currency)
    cards = [
        c for c in cards if payment_method_services.method_pays_in(c["type"], offer.plan.currency)
    ]
    test_mode = _stripe_test_mode()
    needs_card = subscribe_quote(offer=offer).needs_payment_method
    form = SubscribeForm(
        data,
        cards=cards,
        test_mode=test_mode,
        needs_payment_method=needs_card,
        chosen=request.GET.get("payment_method", ""),
    )
    # "Apply" checks the coupon and shows the new total; "Confirm" subscribes.
    subscribing = data is not None and "apply" not in data
    coupon = None
    if data is not None:
        form.is_valid()
        if not subscribing:
            form.errors.pop("payment_method", None)
        code = form.cleaned_data.get("coupon")
        if code:
            try:
                coupon = coupon_services.coupon_check(
                    tenant=request.tenant, code=code, plan=offer.plan
                )
            except DomainError as exc:
                form.add_error("coupon", COUPON_ERRORS.get(exc.code, exc.message))
    quote = subscribe_quote(offer=offer, coupon=coupon)
    if subscribing and not form.errors:
        try:
            subscription_services.subscription_create(
                tenant=request.tenant,
                plan_id=offer.plan.code,
                billing_cycle=cycle,
                trial_days=quote.trial_days,
                coupon=form.cleaned_data["coupon"] or None,
                payment_method=form.cleaned_data["payment_method"] or None,
                actor=request.user.email,
                request_key=f"portal-subscribe:{form.cleaned_data['attempt']}",
            )
        except AuthenticationRequired as exc:
            return confirm_payment_redirect(exc)
        except DomainError as exc:
            if exc.code in COUPON_ERRORS:
                form.add_error("coupon", COUPON_ERRORS[exc.code])
            else:
                form.add_error(None, _payment_error(exc))
        else:
            messages.success(
                request,
                _("Welcome to %(plan)s! Your subscription has started.")
                % {"plan": offer.plan.name},
            )
            return redirect("portal:dashboard")
    return render(
        request,
        "portal/subscribe_plan.html",
        {
            "offer": offer,
            "quote": quote,
            "form": form,
            "cycle": cycle,
            "test_mode": test_mode,
            "load_error": load_error,
            "sepa_ok": sepa_ok,
            "billing_currency": offer.plan.currency,
        },
        status=400 if form.errors else 200,
    )


@never_cache
@member_required(read=WRITE_ROLES, while_suspended=True)
def payment_confirm(request, invoice_id: str):
    """'Confirm your payment': Stripe.js confirmCardPayment against Stripe, the emulator's own
    authentication page against the emulator; then back to payment_confirm_done."""
    try:
        action = payment_authentication.invoice_payment_action_get(
            tenant=request.tenant, invoice_id=invoice_id
        )
    except DomainError as exc:
        if exc.status_code == 404:
            raise Http404("No such invoice.") from exc
        messages.error(request, _payment_error(exc))
        return redirect("portal:invoice-detail", invoice_id=invoice_id)
    if action.status == "paid":
        messages.success(request, _("This payment is already confirmed."))
        return redirect("portal:dashboard")
    done_url = request.build_absolute_uri(reverse("portal:payment-confirm-done", args=[invoice_id]))
    test_mode = _stripe_test_mode()
    return render(
        request,
        "portal/payment_confirm.html",
        {
            "action": action,
            "done_url": done_url,
            "test_mode": test_mode,
            "authentication_url": action.authentication_url if test_mode else None,
            "stripe_public_key": settings.STRIPE_PUBLIC_KEY,
        },
    )


@never_cache
@member_required(read=WRITE_ROLES, while_suspended=True)
def payment_confirm_done(request, invoice_id: str):
    """Back from the bank: paid -> the dashboard; not paid -> the invoice, payable later."""
    try:
        invoice = services.payment_confirmation_finish(tenant=request.tenant, invoice_id=invoice_id)
    except DomainError as exc:
        if exc.status_code == 404:
            raise Http404("No such invoice.") from exc
        messages.error(request, _payment_error(exc))
        return redirect("portal:invoice-detail", invoice_id=invoice_id)
    if invoice["status"] == "paid":
        messages.success(request, _("Your payment is confirmed. Thank you!"))
        return redirect("portal:dashboard")
    messages.error(
        request,
        _(
            "Your bank did not confirm the payment, so nothing was charged. The invoice stays "
            "unpaid: you can pay it here when you are ready."
        ),
    )
    return redirect("portal:invoice-detail", invoice_id=invoice_id)
