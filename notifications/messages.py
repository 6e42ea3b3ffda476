"""What each kind of notification says, in the tenant's language: one `Message` per (kind, data,
locale), rendered into email (HTML + text templates), Slack blocks and the in-app entry.

Texts are gettext msgids (translations in locale/<lang>/LC_MESSAGES/django.po); money and dates are
formatted with the locale's separators, month names and currency placement.

The `data` each producer puts on its billing event (all optional; missing facts are left out):
amounts in minor units `amount` (or `amount_due` / `amount_paid`) + `currency`, `invoice_number`, `invoice_pdf`, `hosted_invoice_url`,
`attempt`, `next_attempt` (or `retry_at`) / `due_date` / `trial_end` / `cancel_at` / `period_start` (ISO 8601 or
unix seconds), `plan_name`, usage `resource_type` / `threshold` / `used` / `limit`, card `brand` /
`last4` / `exp_month` / `exp_year`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.urls import reverse
from django.utils import formats, translation
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from billing_project.money import money_format
from billing_project.timestamps import from_ts

# kind -> (title, sentence). Placeholders are filled from the formatted facts below.
TEXTS = {
    "payment_failed": (
        gettext_noop("Payment of %(amount)s failed"),
        gettext_noop(
            "We could not charge %(amount)s for invoice %(invoice)s. Please update your payment "
            "method to keep your subscription active."
        ),
    ),
    "payment_succeeded": (
        gettext_noop("Payment of %(amount)s received"),
        gettext_noop("Thank you! We received your payment of %(amount)s for invoice %(invoice)s."),
    ),
    "payment_retry_scheduled": (
        gettext_noop("We will retry your payment of %(amount)s"),
        gettext_noop("The payment for invoice %(invoice)s will be retried on %(next_attempt)s."),
    ),
    "payment_action_required": (
        gettext_noop("Confirm your payment of %(amount)s"),
        gettext_noop(
            "Your bank asks you to confirm the payment of %(amount)s for invoice %(invoice)s "
            "(3-D Secure). Nothing is charged until you confirm it."
        ),
    ),
    "invoice_finalized": (
        gettext_noop("Invoice %(invoice)s is ready"),
        gettext_noop("Your invoice %(invoice)s for %(amount)s is ready."),
    ),
    "invoice_overdue": (
        gettext_noop("Invoice %(invoice)s is overdue"),
        gettext_noop(
            "Invoice %(invoice)s for %(amount)s was due on %(due_date)s and is still unpaid."
        ),
    ),
    "trial_ending": (
        gettext_noop("Your trial ends on %(trial_end)s"),
        gettext_noop(
            "Your trial ends on %(trial_end)s. Add a payment method to keep your "
            "subscription without interruption."
        ),
    ),
    "usage_threshold_reached": (
        gettext_noop("%(threshold)s%% of your %(resource)s limit used"),
        gettext_noop("You have used %(used)s of %(limit)s %(resource)s this period."),
    ),
    "usage_limit_exceeded": (
        gettext_noop("%(resource)s limit reached"),
        gettext_noop(
            "You have used %(used)s of %(limit)s %(resource)s this period. Upgrade your plan "
            "to raise the limit."
        ),
    ),
    "subscription_cancel_scheduled": (
        gettext_noop("Your subscription ends on %(cancel_at)s"),
        gettext_noop(
            "Your subscription was set to cancel on %(cancel_at)s. You can resume it until then."
        ),
    ),
    "subscription_canceled": (
        gettext_noop("Your subscription was canceled"),
        gettext_noop("Your subscription has ended. You can subscribe again at any time."),
    ),
    "card_expiring": (
        gettext_noop("Your card ending in %(last4)s expires soon"),
        gettext_noop(
            "Your %(brand)s card ending in %(last4)s expires at the end of %(expires)s. Please add a "
            "new card to avoid a failed payment."
        ),
    ),
    "refund_issued": (
        gettext_noop("Refund of %(amount)s issued"),
        gettext_noop(
            "We refunded %(amount)s for invoice %(invoice)s. It reaches your account in a few days."
        ),
    ),
    "webhook_endpoint_disabled": (
        gettext_noop("Webhook endpoint disabled"),
        gettext_noop(
            "Every delivery to your webhook endpoint %(url)s failed for %(days)s days, so it was "
            "disabled. Fix the endpoint, then enable it again and replay the failed events."
        ),
    ),
    "credit_balance_low": (
        gettext_noop("Your prepaid credit is low: %(amount)s left"),
        gettext_noop(
            "Your prepaid credit balance fell to %(amount)s. Add credits so that your next "
            "invoices are not charged to your card."
        ),
    ),
    "budget_threshold_reached": (
        gettext_noop("You reached %(threshold)s%% of your spend budget"),
        gettext_noop(
            "Your spend this billing period reached %(threshold)s%% of your budget of "
            "%(amount)s. See the spend so far and the projection on your budget page."
        ),
    ),
    "test": (
        gettext_noop("Test notification"),
        gettext_noop(
            "This is a test notification from %(tenant)s. Your notification settings work."
        ),
    ),
}

# Labels of the facts table, in display order.
FACT_LABELS = {
    "amount": gettext_noop("Amount"),
    "invoice": gettext_noop("Invoice"),
    "attempt": gettext_noop("Attempt"),
    "next_attempt": gettext_noop("Next attempt"),
    "due_date": gettext_noop("Due date"),
    "trial_end": gettext_noop("Trial ends"),
    "plan": gettext_noop("Plan"),
    "resource": gettext_noop("Resource"),
    "used": gettext_noop("Used"),
    "limit": gettext_noop("Limit"),
    "cancel_at": gettext_noop("Ends on"),
    "card": gettext_noop("Card"),
    "expires": gettext_noop("Expires"),
}
# kind -> (button label, the portal page it opens: a portal URL name, given the invoice's id when the
# page is an invoice's). The exact page, not the portal's home: a visitor who must sign in first comes
# back to it (the login keeps `next`).
ACTIONS = {
    "payment_failed": (gettext_noop("Update payment method"), "portal:payment-methods"),
    "payment_succeeded": (gettext_noop("Download receipt"), "portal:invoice-pdf"),
    "payment_action_required": (gettext_noop("Confirm your payment"), "portal:payment-confirm"),
    "invoice_finalized": (gettext_noop("Download PDF"), "portal:invoice-pdf"),
    "invoice_overdue": (gettext_noop("Pay invoice"), "portal:invoice-detail"),
    "card_expiring": (gettext_noop("Update card"), "portal:payment-methods"),
    "trial_ending": (gettext_noop("Add a payment method"), "portal:payment-methods"),
    "usage_limit_exceeded": (gettext_noop("Upgrade plan"), "portal:plans"),
    "refund_issued": (gettext_noop("View invoice"), "portal:invoice-detail"),
    "credit_balance_low": (gettext_noop("Add credits"), "portal:credits"),
    "budget_threshold_reached": (gettext_noop("View budget"), "portal:budget"),
}
INVOICE_PAGES = frozenset({"portal:invoice-pdf", "portal:invoice-detail", "portal:payment-confirm"})


@dataclass
class Message:
    kind: str
    locale: str
    title: str
    body: str
    facts: list[tuple[str, str]] = field(default_factory=list)
    action_label: str = ""
    action_url: str = ""
    footer: str = ""


def _to_date(value) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, (int, float)) or (isinstance(value, str) and value.isdigit()):
        moment = from_ts(value)  # Stripe's unix seconds, through the one converter
        return moment.date() if moment else None
    parsed = parse_datetime(str(value))
    return parsed.date() if parsed else parse_date(str(value))


def format_date(value, locale: str) -> str:
    """A date (or ISO string, or unix seconds) in the locale's long form: "Jan. 5, 2026", "5 de janeiro..."."""
    date = _to_date(value)
    if date is None:
        return ""
    with translation.override(locale):
        return formats.date_format(date, "DATE_FORMAT")


def format_quantity(value, locale: str) -> str:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    exponent = number.normalize().as_tuple().exponent
    if not isinstance(exponent, int):  # NaN or an infinity: no digits to group
        return str(value)
    places = 0 if number == number.to_integral() else min(-exponent, 6)
    with translation.override(locale):
        return formats.number_format(number, decimal_pos=places, use_l10n=True, force_grouping=True)


def _facts(data: dict, locale: str, *, object_id: str, tenant_name: str) -> dict[str, str]:
    """Every fact the data allows, formatted for the locale (keys of FACT_LABELS, plus `tenant`)."""
    facts: dict[str, str] = {"tenant": tenant_name}
    # Producers name the amount after the Stripe field they copy (amount_due, amount_paid).
    amount = next(
        (
            data[key]
            for key in ("amount", "amount_due", "amount_paid")
            if data.get(key) not in (None, "")
        ),
        None,
    )
    if amount is not None:
        facts["amount"] = money_format(int(amount), data.get("currency") or "usd", locale)
    invoice = data.get("invoice_number") or (object_id if object_id.startswith("in_") else "")
    if invoice:
        facts["invoice"] = invoice
    if data.get("attempt"):
        facts["attempt"] = str(data["attempt"])
    for key, sources in (
        ("next_attempt", ("next_attempt", "retry_at")),
        ("due_date", ("due_date",)),
        ("trial_end", ("trial_end",)),
        ("cancel_at", ("cancel_at",)),
    ):
        value = next((data[source] for source in sources if data.get(source)), None)
        if value:
            facts[key] = format_date(value, locale)
    if data.get("plan_name"):
        facts["plan"] = data["plan_name"]
    if data.get("resource_type"):
        facts["resource"] = str(data["resource_type"]).replace("_", " ")
        facts["used"] = format_quantity(data.get("used", 0), locale)
        facts["limit"] = (
            format_quantity(data["limit"], locale) if data.get("limit") is not None else "∞"
        )
    if data.get("threshold") is not None:
        facts["threshold"] = str(data["threshold"])
    if data.get("last4"):
        facts["card"] = f"{str(data.get('brand') or '').title()} •••• {data['last4']}".strip()
        facts["last4"] = str(data["last4"])
        facts["brand"] = str(data.get("brand") or "").title()
    if data.get("url"):
        facts["url"] = str(data["url"])
    if data.get("days") is not None:
        facts["days"] = str(data["days"])
    if data.get("exp_month") and data.get("exp_year"):
        facts["expires"] = f"{int(data['exp_month']):02d}/{data['exp_year']}"
    return facts


class _Blank(dict):
    def __missing__(self, key):
        return "—"


def portal_url(tenant, page: str = "", *, invoice_id: str = "") -> str:
    """The absolute URL of a page of the tenant's portal (its home without `page`). An invoice's page
    without an invoice id is the invoice list."""
    from tenants.services.provisioning import portal_url_for

    home = portal_url_for(tenant.slug)
    if not page:
        return home
    if page in INVOICE_PAGES:
        if not invoice_id:
            page, args = "portal:invoices", []
        else:
            args = [invoice_id]
    else:
        args = []
    return home.rstrip("/") + reverse(page, args=args, urlconf=settings.ROOT_URLCONF)


def contact_invoice_url(*, tenant, data: dict, invoice_id: str) -> str:
    """What a recipient who cannot sign in opens an invoice with: Stripe's hosted invoice page when
    the invoice has one, else a signed, expiring link to its PDF (invoicing.services.links)."""
    if data.get("hosted_invoice_url"):
        return str(data["hosted_invoice_url"])
    from invoicing.services.links import invoice_link_url  # the invoicing app's sanctioned service

    return invoice_link_url(tenant=tenant, invoice_id=invoice_id)


def message_invoice_id(kind: str, data: dict, object_id: str) -> str:
    """The invoice a notification is about ("" when none)."""
    return str(data.get("invoice_id") or (object_id if object_id.startswith("in_") else ""))


def message_build(
    *,
    tenant,
    kind: str,
    data: dict | None = None,
    object_id: str = "",
    locale: str | None = None,
    member: bool = True,
) -> Message:
    """The notification of `kind` for `tenant`, in `locale` (default: the tenant's).

    `member=False` builds it for a recipient who cannot sign in to the portal (a billing contact of
    the billing details): an invoice's email links to Stripe's hosted invoice page or a signed link to
    its PDF instead of the portal (the PDF is attached as well, see services.deliveries)."""
    data = data or {}
    locale = locale or tenant.locale or settings.LANGUAGE_CODE
    title_id, body_id = TEXTS[kind]
    facts = _facts(data, locale, object_id=object_id, tenant_name=tenant.name)
    with translation.override(locale):
        values = _Blank(facts)
        title = _(title_id) % values
        body = _(body_id) % values
        rows = [(_(label), facts[key]) for key, label in FACT_LABELS.items() if facts.get(key)]
        action_label, action_url = "", ""
        if kind in ACTIONS:
            label_id, page = ACTIONS[kind]
            action_label = _(label_id)
            invoice_id = message_invoice_id(kind, data, object_id)
            if not member and page in INVOICE_PAGES and invoice_id:
                action_url = contact_invoice_url(tenant=tenant, data=data, invoice_id=invoice_id)
            else:
                action_url = portal_url(tenant, page, invoice_id=invoice_id)
        if member:
            footer = _(
                "You receive this email as a billing contact of %(tenant)s. Choose which "
                "notifications you get in your notification settings."
            ) % {"tenant": tenant.name}
        else:
            footer = _(
                "You receive this email because %(tenant)s lists you as a billing contact. The "
                "invoice is attached as a PDF."
            ) % {"tenant": tenant.name}
    return Message(
        kind=kind,
        locale=locale,
        title=title[:200],
        body=body,
        facts=rows,
        action_label=action_label,
        action_url=action_url,
        footer=footer,
    )


def slack_payload(message: Message, *, tenant, platform: bool = False) -> dict:
    """Slack's incoming-webhook JSON: `text` (the notification fallback) and Block Kit `blocks`."""
    title = f"[{tenant.name}] {message.title}" if platform else message.title
    blocks: list[dict] = [
        {"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": message.body}},
    ]
    if message.facts:
        blocks.append(
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": f"*{label}*\n{value}"}
                    for label, value in message.facts[:10]
                ],
            }
        )
    if message.action_url:
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": message.action_label},
                        "url": message.action_url,
                    }
                ],
            }
        )
    return {"text": f"{title}: {message.body}", "blocks": blocks}
