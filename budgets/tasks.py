"""Spend budgets' work in a worker, per tenant (beat: every 5 minutes; and after usage ingest)."""

from billing_project.tasks import tenant_task


@tenant_task
def budget_check(tenant) -> list[int]:
    from budgets import services

    return services.budget_check(tenant=tenant)
