"""Reads behind the portal's pages, composed from the selectors of the apps that own the data."""

from dataclasses import dataclass

from django_tenants.utils import schema_context

from invoicing import selectors as invoice_selectors
from subscriptions import selectors as subscription_selectors
from subscriptions.models import BillingAccount
from tenants import selectors as tenant_selectors
from tenants.models import Membership, Tenant, User
from usage import selectors as usage_selectors

# A tenant suspended (for non-payment) keeps its members in the portal, where they can only pay:
# see portal.access.member_required. A closed tenant has no members here, as in the API.
PORTAL_TENANT_STATUSES = frozenset({Tenant.Status.ACTIVE, Tenant.Status.SUSPENDED})


def member_get(*, tenant: Tenant, user: User) -> Membership | None:
    """The user's membership of `tenant`, or None when there is none or the tenant is closed."""
    if tenant.status not in PORTAL_TENANT_STATUSES:
        return None
    return tenant_selectors.membership_get(user=user, tenant_id=tenant.id)


@dataclass(frozen=True)
class Dashboard:
    billing_status: str  # tenants.selectors.tenant_billing_status: "ok", "past_due" or "overdue"
    entitlements: subscription_selectors.Entitlements  # the plan in force now, its status and why
    subscription: (
        BillingAccount | None
    )  # the live subscription: trial end, period end, cancel at period end
    usage: list[usage_selectors.ResourceUsage]  # the current billing period, per resource
    daily: list[dict]  # the same period day by day, per resource (usage_daily_get), for the chart
    overage: (
        usage_selectors.OverageEstimate | None
    )  # usage above the limit billed on the next invoice
    open_invoice: invoice_selectors.InvoiceView | None = (
        None  # what the banner's "Pay now" pays (oldest open)
    )

    @property
    def has_usage(self) -> bool:
        return any(day["cumulative"] for series in self.daily for day in series["days"])


def open_invoice_get(*, tenant: Tenant) -> invoice_selectors.InvoiceView | None:
    """The tenant's oldest open invoice (the one dunning is about), or None."""
    row = (
        invoice_selectors.invoice_queryset(tenant=tenant, status="open").order_by("created").first()
    )
    return invoice_selectors.invoice_view(row.stripe_data) if row is not None else None


def dashboard_get(*, tenant: Tenant) -> Dashboard:
    billing_status = tenant_selectors.tenant_billing_status(tenant=tenant)
    return Dashboard(
        billing_status=billing_status,
        entitlements=subscription_selectors.entitlements_get(tenant=tenant),
        subscription=subscription_selectors.subscription_get_current(tenant=tenant),
        usage=usage_selectors.usage_summary_get(tenant=tenant),
        daily=usage_selectors.usage_daily_get(tenant=tenant),
        overage=usage_selectors.usage_overage_estimate(tenant=tenant),
        open_invoice=open_invoice_get(tenant=tenant) if billing_status != "ok" else None,
    )


def invoice_list(*, tenant: Tenant, limit: int) -> list[invoice_selectors.InvoiceView]:
    """The tenant's newest `limit` invoices as views (status, total, overdue), without their lines."""
    rows = list(invoice_selectors.invoice_queryset(tenant=tenant).order_by("-created")[:limit])
    states = invoice_selectors.invoice_states(invoice_ids=[row.id for row in rows])
    return [
        invoice_selectors.invoice_view(row.stripe_data, state=states.get(row.id)) for row in rows
    ]


def invoice_detail_get(*, tenant: Tenant, invoice_id: str) -> invoice_selectors.InvoiceView | None:
    """One of the tenant's invoices with its lines, or None (another tenant's id is the same None)."""
    row = invoice_selectors.invoice_get(tenant=tenant, invoice_id=invoice_id)
    if row is None:
        return None
    state = invoice_selectors.invoice_states(invoice_ids=[row.id]).get(row.id)
    return invoice_selectors.invoice_view(row.stripe_data, with_lines=True, state=state)


def invoice_credits_get(*, tenant: Tenant, invoice_id: str) -> dict:
    """What was given back on one of the tenant's invoices: its credit notes (refunds and credits, newest
    first) and the refunds still waiting for approval. Call with an invoice of the tenant's."""
    with schema_context(tenant.schema_name):
        return {
            "credit_notes": list(
                invoice_selectors.credit_note_list(invoice_id=invoice_id).order_by("-created")
            ),
            "pending_refunds": list(
                invoice_selectors.refund_list_pending().filter(invoice_id=invoice_id)
            ),
        }
