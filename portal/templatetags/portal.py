from django import template
from django.utils import translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from billing_project.money import money_format
from portal import charts
from portal.forms import ROLE_LABELS

register = template.Library()


@register.filter
def role_label(role: str) -> str:
    """A membership's or API key's role in the visitor's language."""
    return str(ROLE_LABELS.get(role, role))


SUBSCRIPTION_STATUS_LABELS = {
    "trialing": _("Trial"),
    "active": _("Active"),
    "past_due": _("Past due"),
    "unpaid": _("Unpaid"),
    "incomplete": _("Incomplete"),
    "canceled": _("Canceled"),
    "none": _("No subscription"),
}


@register.filter
def subscription_status_label(status: str) -> str:
    """A Stripe subscription status (or "none") in the visitor's language."""
    return str(SUBSCRIPTION_STATUS_LABELS.get(status, status))


@register.filter
def money(amount_minor: int, currency: str) -> str:
    """Minor units in the visitor's language (the tenant's locale): "$29.00", "US$ 29,00", "29,00 US$"."""
    return money_format(amount_minor, currency, translation.get_language())


@register.filter
def negate(amount_minor: int) -> int:
    """A discount shown as the negative amount it is: `invoice.discount|negate|money:invoice.currency`."""
    return -amount_minor


@register.filter
def discount(coupon) -> str:
    """A coupon's discount and how long it lasts, e.g. "20% off, once"."""
    amount = (
        f"{coupon.percent_off}%"
        if coupon.percent_off
        else money(coupon.amount_off, coupon.currency)
    )
    if coupon.duration == "repeating":
        return gettext("%(amount)s off, for %(months)s months") % {
            "amount": amount,
            "months": coupon.duration_in_months,
        }
    if coupon.duration == "forever":
        return gettext("%(amount)s off, forever") % {"amount": amount}
    return gettext("%(amount)s off, once") % {"amount": amount}


INVOICE_STATUS_LABELS = {
    "open": _("Open"),
    "paid": _("Paid"),
    "void": _("Void"),
    "uncollectible": _("Uncollectible"),
    "draft": _("Draft"),
}


@register.filter
def invoice_status_label(status: str) -> str:
    """A Stripe invoice status in the visitor's language."""
    return str(INVOICE_STATUS_LABELS.get(status, status))


@register.inclusion_tag("portal/_usage_chart.html")
def usage_chart(series: dict) -> dict:
    """One resource's day-by-day series (usage.selectors.usage_daily_get) as an inline SVG chart."""
    return {"chart": charts.usage_chart(series)}
