"""Writes of the portal: signing in. Everything else the portal changes goes through the owning app's services."""

from django.contrib.auth import authenticate

from portal.selectors import member_get
from tenants.models import Tenant, User
from tenants.services.auth import AuthenticationError, login_attempt


def portal_login(*, tenant: Tenant, email: str, password: str, ip: str) -> User:
    """The member of `tenant` with this email and password; AuthenticationError otherwise, RateLimited
    when throttled.

    Failures count in the API's login throttle, so the portal is no way around it. A valid user who is
    not a member of this tenant gets the same message as a wrong password: the portal of one tenant
    must not reveal who has an account elsewhere.
    """

    def verify() -> User:
        user = authenticate(email=email.strip().lower(), password=password)
        if user is None or not user.is_active or member_get(tenant=tenant, user=user) is None:
            raise AuthenticationError()
        return user

    return login_attempt(email=email, ip=ip, verify=verify)


def payment_confirmation_finish(*, tenant: Tenant, invoice_id: str) -> dict:
    """The customer is back from authenticating a payment (3-D Secure): record the invoice as
    Stripe has it now and the subscription it belongs to (an `incomplete` one becomes active when
    its first invoice is paid), so the next page shows it without waiting for the webhooks.
    Returns the invoice."""
    from invoicing.services.authentication import invoice_payment_returned
    from subscriptions.services.sync import tenant_resync

    invoice = invoice_payment_returned(tenant=tenant, invoice_id=invoice_id)
    tenant_resync(tenant=tenant)
    return invoice
