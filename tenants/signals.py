"""Receivers of the tenants app: cached credentials follow changes of tenants, domains and keys."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from tenants.cache import credentials_changed
from tenants.models import ApiKey, Domain, Tenant


@receiver([post_save, post_delete], sender=Tenant)
@receiver([post_save, post_delete], sender=Domain)
@receiver([post_save, post_delete], sender=ApiKey)
def credentials_cache_invalidate(sender, **kwargs):
    credentials_changed()
