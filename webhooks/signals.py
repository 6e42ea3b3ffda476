"""tenant.status_changed: a tenant's status is changed by staff in the admin (a plain save of the
row, no service), so the change is caught on the row itself: the status before the save is read in
pre_save and compared after it."""

from __future__ import annotations

import logging

from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver
from django.utils import timezone

from tenants.models import Tenant

logger = logging.getLogger(__name__)


@receiver(pre_save, sender=Tenant, dispatch_uid="webhooks.tenant_status_before")
def tenant_status_before(sender, instance: Tenant, **kwargs) -> None:
    if instance.pk and not instance._state.adding:
        instance._status_before = (
            Tenant.objects.filter(pk=instance.pk).values_list("status", flat=True).first()
        )


@receiver(post_save, sender=Tenant, dispatch_uid="webhooks.tenant_status_after")
def tenant_status_after(sender, instance: Tenant, created: bool, **kwargs) -> None:
    before = getattr(instance, "_status_before", None)
    if created or before is None or before == instance.status:
        return
    from tenants.api.serializers import TenantOutput
    from webhooks.services import emit_event

    obj = dict(TenantOutput(instance).data) | {"previous_status": before}
    emit_event(
        tenant=instance,
        type="tenant.status_changed",
        obj=obj,
        dedup_key=f"tenant.status_changed:{instance.pk}:{timezone.now().isoformat()}",
    )
