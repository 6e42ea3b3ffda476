"""The subscribe page's form: an optional coupon and the payment method (a card on file, one of
Stripe's test cards against the emulator, or none when the plan needs none)."""

from __future__ import annotations

import uuid

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from portal.forms import TEST_CARD_CHOICES

# The coupon rules' error codes (coupons.services, the same as the API's), in the visitor's language.
COUPON_ERRORS = {
    "coupon_not_found": _("No such coupon."),
    "coupon_expired": _("This coupon is no longer valid."),
    "coupon_exhausted": _("This coupon has been used up."),
    "coupon_not_applicable": _("This coupon does not apply to this plan."),
    "coupon_already_redeemed": _("Your organisation has already used this coupon."),
}
NO_PAYMENT_METHOD = ""


class SubscribeForm(forms.Form):
    coupon = forms.CharField(label=_("Coupon code"), max_length=50, required=False)
    payment_method = forms.ChoiceField(label=_("Payment method"), required=False)
    # One subscribe per page view: a second submit (double click, reload) is the same request.
    attempt = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(
        self,
        *args,
        cards: list[dict],
        test_mode: bool,
        needs_payment_method: bool,
        chosen: str = "",
        **kw,
    ):
        super().__init__(*args, **kw)
        self.needs_payment_method = needs_payment_method
        choices = [
            (
                card["payment_method_id"],
                _("%(brand)s ending in %(last4)s")
                % {"brand": (card.get("brand") or "").title(), "last4": card.get("last4")}
                if card.get("type", "card") == "card"
                else card["label"],  # SEPA Direct Debit, PayPal (h16b)
            )
            for card in cards
        ]
        if test_mode:
            choices += [
                (value, _("New test card: %(card)s") % {"card": label})
                for value, label in TEST_CARD_CHOICES
            ]
        if not needs_payment_method:
            choices.insert(0, (NO_PAYMENT_METHOD, _("None for now")))
        self.fields["payment_method"].choices = choices  # type: ignore[attr-defined]  # a ChoiceField; django-stubs type form.fields as Field
        default = next((c["payment_method_id"] for c in cards if c.get("is_default")), None)
        self.fields["payment_method"].initial = default or (choices[0][0] if choices else None)
        self.fields["attempt"].initial = uuid.uuid4().hex
        self.allowed = {value for value, _label in choices}
        if chosen in self.allowed:  # the method just added on this page (SEPA, PayPal)
            self.fields["payment_method"].initial = chosen

    def clean_coupon(self) -> str:
        return self.cleaned_data["coupon"].strip().upper()

    def clean_payment_method(self) -> str:
        value = self.cleaned_data["payment_method"]
        if self.needs_payment_method and not value:
            raise ValidationError(_("Choose a payment method: this plan charges one."))
        if value and value not in self.allowed:
            raise ValidationError(_("Choose one of the listed payment methods."))
        return value
