"""Celery tasks of the tenants app: thin wrappers around its services."""

from celery import shared_task


@shared_task(ignore_result=True)
def tenant_spares_refill() -> None:
    """After each provisioning (and whenever called), in the public schema: clone the template into
    the spare schemas that the next tenants will take (tenants.services.spares)."""
    from tenants.services.provisioning import tenant_spares_refill as refill

    refill()


@shared_task(ignore_result=True)
def tenant_created_hooks_run(*, tenant_id: str) -> None:
    """After a provisioning's commit, in the public schema: what other apps do for a new tenant
    (TENANT_CREATED_HOOKS: the Stripe customer), off the signup's response."""
    from tenants.models import Tenant
    from tenants.services.provisioning import tenant_created_hooks

    tenant = Tenant.objects.filter(pk=tenant_id).first()
    if tenant is not None:  # deleted meanwhile: nothing to do
        tenant_created_hooks(tenant=tenant)
