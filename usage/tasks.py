"""Celery tasks of the usage app. Beat runs each in every tenant's schema (tenant-schemas-celery;
`@tenant_task` hands the task that tenant). Tasks import the services inside the function."""

from billing_project.tasks import tenant_task


@tenant_task(name="usage.tasks.usage_meter_push")
def usage_meter_push(tenant):
    from usage.services import usage_meter_push as push

    push(tenant=tenant)


@tenant_task(name="usage.tasks.usage_collectors_run_due")
def usage_collectors_run_due(tenant):
    from usage.services import usage_collectors_run_due as run_due

    run_due(tenant=tenant)


@tenant_task(name="usage.tasks.usage_partitions_ensure")
def usage_partitions_ensure(tenant):
    from usage.services import usage_partitions_ensure as ensure

    ensure(tenant=tenant)
