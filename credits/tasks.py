"""Prepaid credits' periodic work, per tenant (beat: every 5 minutes)."""

from billing_project.tasks import tenant_task


@tenant_task
def credits_expire_due(tenant) -> int:
    from credits import services

    services.credits_stripe_sync(tenant=tenant)
    return services.credits_expire_due(tenant=tenant)
