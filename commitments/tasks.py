"""Progressive billing's checks, per tenant (after ingest, debounced; beat: every 5 minutes)."""

from billing_project.tasks import tenant_task


@tenant_task(name="commitments.tasks.usage_threshold_check")
def usage_threshold_check(tenant) -> int | None:
    from commitments import services

    record = services.usage_threshold_check(tenant=tenant)
    return record.pk if record is not None else None
