"""Portal pages on the tenant's host. Thin: forms validate, the owning apps' services and selectors do
the work, portal.access decides who may see what."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from billing_project.api.exceptions import DomainError
from billing_project.client_ip import client_ip
from billing_project.errors import AuthenticationRequired, NotFound
from coupons import services as coupon_services
from invoicing import selectors as invoice_selectors
from invoicing.http import document_response
from invoicing.services import documents as document_services
from invoicing.services import payments as invoice_payments
from notifications import selectors as notification_selectors
from notifications import services as notification_services
from portal import selectors, services
from portal.access import (
    OWNER_ROLES,
    WRITE_ROLES,
    member_required,
    request_membership,
    session_login,
)
from portal.forms import (
    PAYMENT_ERROR_MESSAGES,
    ApiKeyCreateForm,
    CouponForm,
    InviteForm,
    LoginForm,
    NotificationPreferenceForm,
    PasswordResetForm,
    PaymentMethodAddForm,
    PlanChangeForm,
    decline_reason,
)
from portal.templatetags.portal import discount as discount_text
from subscriptions import selectors as subscription_selectors
from subscriptions.services import payment_methods as payment_method_services
from subscriptions.services import subscriptions as subscription_services
from tenants import selectors as tenant_selectors
from tenants import services as tenant_services


def _can_write(request) -> bool:
    """Whether the member may change billing (pay, manage cards): the templates hide those buttons otherwise."""
    return request.membership.role in WRITE_ROLES


@never_cache
def login_view(request):
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = reverse("portal:dashboard")
    if request_membership(request) is not None:
        return redirect(next_url)
    form = LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.portal_login(
                tenant=request.tenant,
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password"],
                ip=client_ip(request),
            )
        except DomainError as exc:
            # The throttle's and the wrong password's messages, in the visitor's language.
            form.add_error(
                None,
                _("Too many failed sign-ins; try again later.")
                if exc.status_code == 429
                else _("Invalid email or password."),
            )
        else:
            session_login(request, user)
            return redirect(next_url)
    return render(
        request,
        "portal/login.html",
        {"form": form, "next": next_url},
        status=400 if form.errors else 200,
    )


@require_POST
def logout_view(request):
    logout(request)
    return redirect("portal:login")


class PasswordResetView(auth_views.PasswordResetView):
    form_class = PasswordResetForm
    template_name = "portal/password_reset_form.html"
    email_template_name = "portal/password_reset_email.txt"
    subject_template_name = "portal/password_reset_subject.txt"
    success_url = reverse_lazy("portal:password-reset-done")

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "tenant": self.request.tenant}

    def form_valid(self, form):
        self.extra_email_context = {"tenant": self.request.tenant}
        return super().form_valid(form)


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "portal/password_reset_done.html"


@member_required
def dashboard(request):
    return render(
        request,
        "portal/dashboard.html",
        {
            "dashboard": selectors.dashboard_get(tenant=request.tenant),
            "can_write": _can_write(request),
        },
    )


@member_required(read=OWNER_ROLES, write=OWNER_ROLES)
def team(request):
    form = InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        membership = form.call(
            tenant_services.membership_create,
            tenant=request.tenant,
            email=form.cleaned_data["email"],
            role=form.cleaned_data["role"],
            actor=request.user.email,
        )
        if membership is not None:
            messages.success(
                request, _("%(email)s was added to the team.") % {"email": membership.user.email}
            )
            return redirect("portal:team")
    members = tenant_selectors.membership_list(tenant=request.tenant).order_by("user__email")
    return render(
        request,
        "portal/team.html",
        {"form": form, "members": members},
        status=400 if form.errors else 200,
    )


@require_POST
@member_required(read=OWNER_ROLES, write=OWNER_ROLES)
def team_remove(request, membership_id: int):
    try:
        removed = tenant_services.membership_remove(
            tenant=request.tenant, membership_id=membership_id, actor=request.user.email
        )
    except DomainError as exc:
        messages.error(
            request,
            _("The last owner cannot be removed.")
            if exc.code == "last_owner"
            else _("No such member."),
        )
    else:
        messages.success(
            request, _("%(email)s was removed from the team.") % {"email": removed.user.email}
        )
    return redirect("portal:team")


NEW_API_KEY_SESSION_KEY = "portal_new_api_key"
NOTIFICATIONS_SHOWN = 50


@never_cache  # the page that shows a new secret must not be kept by the browser or a proxy
@member_required(read=OWNER_ROLES, write=OWNER_ROLES)
def api_keys(request):
    form = ApiKeyCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        created = form.call(
            tenant_services.api_key_create,
            tenant=request.tenant,
            name=form.cleaned_data["name"],
            role=form.cleaned_data["role"],
            created_by=request.user,
            actor=request.user.email,
        )
        if created is not None:
            # Post/redirect/get, so that reloading the page cannot create a second key; the secret
            # waits in the session for exactly the one page view that shows it.
            request.session[NEW_API_KEY_SESSION_KEY] = {
                "name": created[0].name,
                "secret": created[1],
            }
            return redirect("portal:api-keys")
    keys = tenant_selectors.api_key_list(tenant=request.tenant)
    created = (
        request.session.pop(NEW_API_KEY_SESSION_KEY, None) if request.method == "GET" else None
    )
    return render(
        request,
        "portal/api_keys.html",
        {"form": form, "keys": keys, "created": created},
        status=400 if form.errors else 200,
    )


@require_POST
@member_required(read=OWNER_ROLES, write=OWNER_ROLES)
def api_key_revoke(request, api_key_id):
    try:
        api_key = tenant_services.api_key_revoke(
            tenant=request.tenant, api_key_id=api_key_id, actor=request.user.email
        )
    except DomainError:
        messages.error(request, _("No such API key."))
    else:
        messages.success(request, _("The key %(name)s was revoked.") % {"name": api_key.name})
    return redirect("portal:api-keys")


@member_required
def plans(request):
    return render(
        request,
        "portal/plans.html",
        {
            "plans": subscription_selectors.plan_list_for_tenant(tenant=request.tenant),
            "subscription": subscription_selectors.subscription_get_current(tenant=request.tenant),
        },
    )


@member_required(read=WRITE_ROLES)
def plan_change(request, plan_id: str):
    """GET: Stripe's preview of the change (prorations due now, the next invoice); POST: confirm it."""
    form = PlanChangeForm(request.POST if request.method == "POST" else request.GET)
    preview = None
    if form.is_valid():
        cycle = form.cleaned_data["billing_cycle"] or None
        if request.method == "POST":
            try:
                account = form.call(
                    _raising_authentication(subscription_services.subscription_change_plan),
                    tenant=request.tenant,
                    plan_id=plan_id,
                    billing_cycle=cycle,
                    actor=request.user.email,
                )
            except _AuthenticationNeeded as needed:
                # The change is made; its proration waits for the customer's 3-D Secure.
                messages.success(request, _("Your plan is changed; confirm its payment."))
                return redirect(
                    "portal:payment-confirm", invoice_id=needed.args[0].detail["invoice_id"]
                )
            if account is not None:
                messages.success(
                    request, _("Your plan is now %(plan)s.") % {"plan": account.plan.name}
                )
                return redirect("portal:plans")
        else:
            preview = form.call(
                subscription_services.subscription_preview_change,
                tenant=request.tenant,
                plan_id=plan_id,
                billing_cycle=cycle,
            )
    return render(
        request,
        "portal/plan_change.html",
        {
            "form": form,
            "preview": preview,
            "plan": subscription_selectors.plan_get(plan_id=plan_id),
        },
        status=400 if form.errors else 200,
    )


@require_POST
@member_required
def subscription_cancel_at_period_end(request, cancel: bool):
    try:
        subscription_services.subscription_set_cancel_at_period_end(
            tenant=request.tenant, cancel=cancel, actor=request.user.email
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("Your subscription will end at the end of the period.")
            if cancel
            else _("Your subscription will renew."),
        )
    return redirect("portal:plans")


@member_required
def coupon(request):
    form = CouponForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        applied = form.call(
            coupon_services.coupon_apply,
            tenant=request.tenant,
            code=form.cleaned_data["code"],
            actor=request.user.email,
        )
        if applied is not None:
            redemption, applies_to = applied
            text = (
                _("%(code)s applied to your subscription: %(discount)s.")
                if applies_to == "current_subscription"
                else _("%(code)s will apply to your next subscription: %(discount)s.")
            )
            messages.success(
                request,
                text
                % {"code": redemption.coupon.code, "discount": discount_text(redemption.coupon)},
            )
            return redirect("portal:coupon")
    return render(request, "portal/coupon.html", {"form": form}, status=400 if form.errors else 200)


@member_required
def notifications(request):
    preference = notification_selectors.preference_get(tenant=request.tenant)
    form = NotificationPreferenceForm(request.POST or None, preference=preference)
    if request.method == "POST" and form.is_valid():
        saved = form.call(
            notification_services.preference_update,
            tenant=request.tenant,
            actor=request.user.email,
            **form.service_kwargs(),
        )
        if saved is not None:
            messages.success(request, _("Your notification settings were saved."))
            return redirect("portal:notifications")
    return render(
        request,
        "portal/notifications.html",
        {
            "form": form,
            "notifications": notification_selectors.notification_list(tenant=request.tenant)[
                :NOTIFICATIONS_SHOWN
            ],
            "slack_configured": bool(preference.slack_webhook_ciphertext),
        },
        status=400 if form.errors else 200,
    )


@require_POST
@member_required
def notification_read(request, notification_id: int):
    try:
        notification_services.notification_mark_read(
            tenant=request.tenant, notification_id=notification_id
        )
    except DomainError:
        messages.error(request, _("No such notification."))
    return redirect("portal:notifications")


class _AuthenticationNeeded(Exception):
    """Carries an AuthenticationRequired past ServiceForm.call, which turns DomainErrors into form
    errors: a payment waiting for 3-D Secure is a page to go to, not an error to show."""


def _raising_authentication(service):
    def call(**kwargs):
        try:
            return service(**kwargs)
        except AuthenticationRequired as exc:
            raise _AuthenticationNeeded(exc) from exc

    return call


def _stripe_test_mode() -> bool:
    """The bundled emulator (STRIPE_API_BASE set) takes Stripe's magic test cards; real Stripe needs Stripe.js."""
    return bool(settings.STRIPE_API_BASE)


def _payment_error(exc: DomainError) -> str:
    if exc.code == "card_declined":
        # Never Stripe's English message: the reason of the decline code, translated.
        detail = exc.detail if isinstance(exc.detail, dict) else {}
        return _("The card was declined: %(reason)s") % {
            "reason": decline_reason(detail.get("decline_code"))
        }
    return str(PAYMENT_ERROR_MESSAGES.get(exc.code, exc.message))


def _card_words(card: dict) -> dict:
    return {"brand": (card["brand"] or "").title(), "last4": card["last4"]}


def _payment_methods_page(request, form, status=200):
    test_mode = _stripe_test_mode()
    cards, error, client_secret = [], None, None
    try:
        cards = payment_method_services.payment_method_list(tenant=request.tenant)
        if not test_mode and _can_write(request):
            # Stripe.js confirms this SetupIntent in the browser and posts the resulting pm id to the add view.
            client_secret = payment_method_services.setup_intent_create(tenant=request.tenant)
    except DomainError as exc:
        error = _payment_error(exc)
    billing_currency = subscription_selectors.billing_currency_get(tenant=request.tenant)
    return render(
        request,
        "portal/payment_methods.html",
        {
            "sepa_ok": payment_method_services.method_pays_in("sepa_debit", billing_currency),
            "billing_currency": billing_currency,
            "cards": cards,
            "form": form,
            "test_mode": test_mode,
            "load_error": error,
            "client_secret": client_secret,
            "can_write": _can_write(request),
            "stripe_public_key": settings.STRIPE_PUBLIC_KEY,
        },
        status=status,
    )


@never_cache
@member_required(while_suspended=True)
def payment_methods(request):
    return _payment_methods_page(request, PaymentMethodAddForm(test_mode=_stripe_test_mode()))


@require_POST
@member_required(while_suspended=True)
def payment_method_add(request):
    test_mode = _stripe_test_mode()
    form = PaymentMethodAddForm(request.POST, test_mode=test_mode)
    if form.is_valid():
        token, set_default = form.cleaned_data["token"], form.cleaned_data["set_default"]
        try:
            if test_mode:
                # What Stripe.js does in the browser: a SetupIntent for the customer, then the card attached.
                payment_method_services.setup_intent_create(tenant=request.tenant)
            card = payment_method_services.payment_method_attach(
                tenant=request.tenant,
                token=token,
                set_default=set_default,
                actor=request.user.email,
            )
        except DomainError as exc:
            form.add_error(None, _payment_error(exc))
        else:
            messages.success(
                request, _("%(brand)s ending in %(last4)s was added.") % _card_words(card)
            )
            return redirect("portal:payment-methods")
    return _payment_methods_page(request, form, status=400)


@require_POST
@member_required(while_suspended=True)
def payment_method_default(request, payment_method_id: str):
    try:
        card = payment_method_services.payment_method_set_default(
            tenant=request.tenant, payment_method_id=payment_method_id, actor=request.user.email
        )
    except DomainError as exc:
        messages.error(request, _payment_error(exc))
    else:
        messages.success(
            request, _("%(brand)s ending in %(last4)s is now the default card.") % _card_words(card)
        )
    return redirect("portal:payment-methods")


@require_POST
@member_required(while_suspended=True)
def payment_method_remove(request, payment_method_id: str):
    try:
        payment_method_services.payment_method_detach(
            tenant=request.tenant, payment_method_id=payment_method_id, actor=request.user.email
        )
    except DomainError as exc:
        messages.error(request, _payment_error(exc))
    else:
        messages.success(request, _("The card was removed."))
    return redirect("portal:payment-methods")


INVOICES_SHOWN = 100


def _invoice_or_404(request, invoice_id: str):
    row = invoice_selectors.invoice_get(tenant=request.tenant, invoice_id=invoice_id)
    if row is None:  # another tenant's invoice is the same 404 as none at all
        raise Http404("No such invoice.")
    return row


@member_required(while_suspended=True)
def invoices(request):
    return render(
        request,
        "portal/invoices.html",
        {
            "invoices": selectors.invoice_list(tenant=request.tenant, limit=INVOICES_SHOWN),
            "can_write": _can_write(request),
        },
    )


@member_required(while_suspended=True)
def invoice_detail(request, invoice_id: str):
    invoice = selectors.invoice_detail_get(tenant=request.tenant, invoice_id=invoice_id)
    if invoice is None:
        raise Http404("No such invoice.")
    return render(
        request,
        "portal/invoice_detail.html",
        {
            "invoice": invoice,
            "can_write": _can_write(request),
            "credits": selectors.invoice_credits_get(
                tenant=request.tenant, invoice_id=invoice.invoice_id
            ),
        },
    )


@member_required(while_suspended=True)
def invoice_pdf(request, invoice_id: str):
    """The stored PDF, as the API's pdf view serves it; 404 while it is not rendered yet."""
    row = _invoice_or_404(request, invoice_id)
    document = document_services.document_ready_get(tenant=request.tenant, invoice_id=row.id)
    if document is None:
        raise Http404("The PDF is being rendered; retry in a few seconds.")
    return document_response(document, invoice=row, disposition="attachment")


@never_cache
def invoice_pdf_link(request, token: str):
    """The PDF behind an invoice email's signed link, without signing in (billing contacts are not
    members). Tampered or another tenant's: 404; expired: 410; not rendered yet: rendered now."""
    from invoicing.services.links import invoice_link_resolve

    try:
        invoice_id = invoice_link_resolve(tenant=request.tenant, token=token)
        pdf = document_services.document_pdf_get(tenant=request.tenant, invoice_id=invoice_id)
        if pdf is None:
            raise NotFound("No such invoice.")
    except DomainError as exc:
        return HttpResponse(
            exc.message, status=exc.status_code, content_type="text/plain; charset=utf-8"
        )
    name, body = pdf
    response = HttpResponse(body, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{name}"'
    response["X-Robots-Tag"] = "noindex"
    return response


@require_POST
@member_required(while_suspended=True)
def invoice_pay(request, invoice_id: str):
    _invoice_or_404(request, invoice_id)
    try:
        paid = invoice_payments.invoice_pay(
            tenant=request.tenant, invoice_id=invoice_id, actor=request.user.email
        )
    except AuthenticationRequired:
        return redirect("portal:payment-confirm", invoice_id=invoice_id)
    except DomainError as exc:
        if exc.code == "invoice_not_payable":
            messages.error(request, _("This invoice cannot be paid: it is not open."))
        else:
            messages.error(request, _payment_error(exc))
    else:
        messages.success(
            request,
            _("Invoice %(number)s was paid.") % {"number": paid.get("number") or invoice_id},
        )
    return redirect("portal:invoice-detail", invoice_id=invoice_id)
