"""Forms of the portal. They validate input; the owning app's services decide."""

from django import forms
from django.contrib.auth import forms as auth_forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext_lazy as _

from billing_project.api.exceptions import DomainError
from notifications.preferences import channels_for
from portal.selectors import member_get
from tenants.models import Role
from tenants.services.api_keys import TENANT_KEY_ROLES

ROLE_LABELS = {
    Role.OWNER: _("Owner"),
    Role.BILLING_ADMIN: _("Billing admin"),
    Role.VIEWER: _("Viewer"),
    "ingest": _("Ingest (usage only)"),
}


class ServiceForm(forms.Form):
    """A form whose `call` runs a service and turns its DomainError into field or form errors.

    Services speak English; `error_messages_by_code` gives the visitor's language for known codes."""

    error_messages_by_code: dict = {}

    def call(self, service, **kwargs):
        try:
            return service(**kwargs)
        except DomainError as exc:
            fields = exc.detail if isinstance(exc.detail, dict) else {}
            placed = False
            for name, messages in fields.items():
                if name in self.fields:
                    for message in messages if isinstance(messages, list) else [messages]:
                        self.add_error(name, str(message))
                    placed = True
            if not placed:
                self.add_error(None, self.error_messages_by_code.get(exc.code, exc.message))
            return None


class LoginForm(forms.Form):
    email = forms.EmailField(
        label=_("Email"),
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class PasswordResetForm(auth_forms.PasswordResetForm):
    """Django's reset form, sending the link only to members of this host's tenant."""

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.tenant = tenant
        self.fields["email"].label = _("Email")

    def get_users(self, email):
        return (
            user
            for user in super().get_users(email)
            if member_get(tenant=self.tenant, user=user) is not None
        )


class InviteForm(ServiceForm):
    email = forms.EmailField(label=_("Email"))
    error_messages_by_code = {"member_exists": _("This person is already a member.")}
    role = forms.ChoiceField(
        label=_("Role"),
        choices=[(role, ROLE_LABELS[role]) for role in Role.values],
        initial=Role.VIEWER,
    )


class ApiKeyCreateForm(ServiceForm):
    name = forms.CharField(label=_("Name"), max_length=100)
    role = forms.ChoiceField(
        label=_("Role"),
        choices=[(role, ROLE_LABELS[role]) for role in TENANT_KEY_ROLES],
        initial=Role.VIEWER,
    )


class PlanChangeForm(ServiceForm):
    billing_cycle = forms.ChoiceField(
        label=_("Billing cycle"),
        required=False,
        choices=[
            ("", _("Keep the current cycle")),
            ("monthly", _("Monthly")),
            ("yearly", _("Yearly")),
        ],
    )
    error_messages_by_code = {
        "plan_not_found": _("No such plan."),
        "no_change": _("You are already on this plan."),
        "no_subscription": _("This organisation has no subscription."),
    }


class CouponForm(ServiceForm):
    code = forms.CharField(label=_("Coupon code"), max_length=50)
    error_messages_by_code = {
        "coupon_not_found": _("No such coupon."),
        "coupon_expired": _("This coupon is no longer valid."),
        "coupon_exhausted": _("This coupon has been used up."),
        "coupon_not_applicable": _("This coupon does not apply to your plan."),
        "coupon_already_redeemed": _("Your organisation has already used this coupon."),
    }


KIND_LABELS = {
    "payment_failed": _("Payment failed"),
    "payment_succeeded": _("Payment succeeded"),
    "payment_retry_scheduled": _("Payment retry scheduled"),
    "payment_action_required": _("Payment needs your confirmation"),
    "invoice_finalized": _("Invoice issued"),
    "invoice_overdue": _("Invoice overdue"),
    "trial_ending": _("Trial ending"),
    "usage_threshold_reached": _("Usage threshold reached"),
    "usage_limit_exceeded": _("Usage limit exceeded"),
    "subscription_cancel_scheduled": _("Cancellation scheduled"),
    "subscription_canceled": _("Subscription canceled"),
    "card_expiring": _("Card expiring"),
}
CHANNEL_CHOICES = [("email", _("Email")), ("slack", _("Slack")), ("in_app", _("In the portal"))]


class NotificationPreferenceForm(ServiceForm):
    email_owners = forms.BooleanField(label=_("Email the owners"), required=False)
    email_billing_admins = forms.BooleanField(label=_("Email the billing admins"), required=False)
    extra_emails = forms.CharField(
        label=_("Also email these addresses, one a line"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    # The stored URL is a secret: never rendered back; empty keeps it.
    slack_webhook_url = forms.URLField(
        label=_("Slack webhook URL"),
        required=False,
        assume_scheme="https",
        help_text=_("Leave empty to keep the current one."),
    )
    remove_slack = forms.BooleanField(label=_("Remove the Slack webhook"), required=False)

    def __init__(self, *args, preference, **kwargs):
        initial = {
            "email_owners": preference.email_owners,
            "email_billing_admins": preference.email_billing_admins,
            "extra_emails": "\n".join(preference.extra_emails or []),
        }
        super().__init__(*args, initial=initial, **kwargs)
        for kind, label in KIND_LABELS.items():
            self.fields[f"channels_{kind}"] = forms.MultipleChoiceField(
                label=label,
                required=False,
                choices=CHANNEL_CHOICES,
                widget=forms.CheckboxSelectMultiple,
                initial=channels_for(preference, kind),
            )

    def channel_fields(self):
        return [self[f"channels_{kind}"] for kind in KIND_LABELS]

    def clean_extra_emails(self) -> list[str]:
        addresses = [
            line.strip() for line in self.cleaned_data["extra_emails"].splitlines() if line.strip()
        ]
        for address in addresses:
            try:
                validate_email(address)
            except ValidationError:
                raise ValidationError(
                    _("%(address)s is not an email address.") % {"address": address}
                ) from None
        return addresses

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        kwargs = {
            "email_owners": data["email_owners"],
            "email_billing_admins": data["email_billing_admins"],
            "extra_emails": data["extra_emails"],
            "channels": {kind: data[f"channels_{kind}"] for kind in KIND_LABELS},
        }
        if data["remove_slack"]:
            kwargs["slack_webhook_url"] = ""
        elif data["slack_webhook_url"]:
            kwargs["slack_webhook_url"] = data["slack_webhook_url"]
        return kwargs


# Stripe's magic test payment methods, offered by the add-card form against the bundled emulator.
TEST_CARD_CHOICES = [
    ("pm_card_visa", _("Visa (succeeds)")),
    ("pm_card_mastercard", _("Mastercard (succeeds)")),
    ("pm_card_chargeDeclined", _("Declined card")),
    ("pm_card_chargeCustomerFail", _("Attaches, then charges fail")),
    ("pm_card_authenticationRequired", _("Visa, always asks for 3-D Secure")),
    ("pm_card_authenticationRequiredOnSetup", _("Visa, asks for 3-D Secure once")),
]
# Why a bank refused a card, by Stripe's decline code, in the visitor's language (Stripe's own message
# is English only). The one place for every portal page that charges or saves a card; a code not
# listed (lost or stolen cards included: not told apart on purpose) reads as the generic reason.
GENERIC_DECLINE = _("your bank gave no reason; try another card or contact your bank.")
DECLINE_REASONS = {
    "insufficient_funds": _("insufficient funds."),
    "expired_card": _("the card has expired."),
    "incorrect_cvc": _("the security code (CVC) is incorrect."),
    "invalid_cvc": _("the security code (CVC) is incorrect."),
    "incorrect_number": _("the card number is incorrect."),
    "invalid_number": _("the card number is incorrect."),
    "invalid_expiry_month": _("the expiry date is incorrect."),
    "invalid_expiry_year": _("the expiry date is incorrect."),
    "processing_error": _(
        "an error occurred while processing the card; try again in a few minutes."
    ),
    "card_velocity_exceeded": _("the card's limit was exceeded."),
    "withdrawal_count_limit_exceeded": _("the card's limit was exceeded."),
    "card_not_supported": _("the card does not support this kind of payment."),
    "currency_not_supported": _("the card does not support this currency."),
    "authentication_required": _("your bank asks you to confirm the payment."),
}


def decline_reason(decline_code: str | None) -> str:
    return str(DECLINE_REASONS.get(decline_code or "", GENERIC_DECLINE))


PAYMENT_ERROR_MESSAGES = {
    "payment_method_in_use": _(
        "This card pays your subscription; make another card the default first."
    ),
    "not_found": _("No such payment method."),
    "payment_method_currency_unsupported": _(
        "SEPA Direct Debit pays in euros only, and this is charged in another currency: pay by "
        "card or PayPal."
    ),
    "payment_provider_unavailable": _(
        "The payment provider could not be reached; try again later."
    ),
}


class PaymentMethodAddForm(ServiceForm):
    """The pm id to attach: one of the magic test cards against the emulator, else the pm_ id that
    Stripe.js returned when it confirmed the SetupIntent."""

    token = forms.CharField(label=_("Card"), max_length=255)
    set_default = forms.BooleanField(label=_("Make it the default card"), required=False)
    error_messages_by_code = PAYMENT_ERROR_MESSAGES

    def __init__(self, *args, test_mode: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if test_mode:
            self.fields["token"] = forms.ChoiceField(
                label=_("Test card"), choices=TEST_CARD_CHOICES, initial="pm_card_visa"
            )
        else:
            self.fields["token"].widget = forms.HiddenInput()

    def clean_token(self) -> str:
        token = self.cleaned_data["token"].strip()
        if not token.startswith("pm_"):
            raise ValidationError(_("The card could not be read; try again."))
        return token
