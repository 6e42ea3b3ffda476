"""Receivers of the tenants app: cached credentials follow changes of tenants, domains, keys, users
and memberships."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from tenants.cache import credentials_changed
from tenants.models import ApiKey, Domain, Membership, Tenant, User


@receiver([post_save, post_delete], sender=Tenant)
@receiver([post_save, post_delete], sender=Domain)
@receiver([post_save, post_delete], sender=ApiKey)
@receiver([post_save, post_delete], sender=User)
@receiver([post_save, post_delete], sender=Membership)
def credentials_cache_invalidate(sender, update_fields=None, **kwargs):
    # Django's login stamps last_login on every sign-in: nothing a cached credential holds.
    if sender is User and update_fields is not None and set(update_fields) <= {"last_login"}:
        return
    credentials_changed()
