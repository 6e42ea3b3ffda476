"""Celery tasks of the tenants app: thin wrappers around its services."""

from celery import shared_task


@shared_task(ignore_result=True)
def tenant_spares_refill() -> None:
    """After each provisioning (and whenever called), in the public schema: clone the template into
    the spare schemas that the next tenants will take (tenants.services.spares)."""
    from tenants.services.provisioning import tenant_spares_refill as refill

    refill()
