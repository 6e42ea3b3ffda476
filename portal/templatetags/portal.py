from django import template
from django.utils.translation import gettext_lazy as _

from portal.forms import ROLE_LABELS

register = template.Library()


@register.filter
def role_label(role: str) -> str:
    """A membership's or API key's role in the visitor's language."""
    return ROLE_LABELS.get(role, role)


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
    return SUBSCRIPTION_STATUS_LABELS.get(status, status)
