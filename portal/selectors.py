"""Reads behind the portal's pages, composed from the selectors of the apps that own the data."""

from dataclasses import dataclass

from subscriptions import selectors as subscription_selectors
from subscriptions.models import BillingAccount
from tenants import selectors as tenant_selectors
from tenants.models import Membership, Tenant, User
from usage import selectors as usage_selectors


def member_get(*, tenant: Tenant, user: User) -> Membership | None:
    """The user's membership of `tenant`, or None. An inactive tenant has no members here, as in the API."""
    if tenant.status != Tenant.Status.ACTIVE:
        return None
    return tenant_selectors.membership_get(user=user, tenant_id=tenant.id)


@dataclass(frozen=True)
class Dashboard:
    billing_status: str  # tenants.selectors.tenant_billing_status: "ok", "past_due" or "overdue"
    entitlements: subscription_selectors.Entitlements  # the plan in force now, its status and why
    subscription: BillingAccount | None  # the live subscription: trial end, period end, cancel at period end
    usage: list[usage_selectors.ResourceUsage]  # the current billing period, per resource
    daily: list[dict]  # the same period day by day, per resource (usage_daily_get), for the chart

    @property
    def has_usage(self) -> bool:
        return any(day["cumulative"] for series in self.daily for day in series["days"])


def dashboard_get(*, tenant: Tenant) -> Dashboard:
    return Dashboard(
        billing_status=tenant_selectors.tenant_billing_status(tenant=tenant),
        entitlements=subscription_selectors.entitlements_get(tenant=tenant),
        subscription=subscription_selectors.subscription_get_current(tenant=tenant),
        usage=usage_selectors.usage_summary_get(tenant=tenant),
        daily=usage_selectors.usage_daily_get(tenant=tenant),
    )
