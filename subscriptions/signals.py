"""A changed or deleted plan drops the cached catalog, whoever changed it (admin, command, shell);
a changed billing account drops its tenant's cached billing status and limits."""

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from subscriptions.models import BillingAccount, Plan
from subscriptions.selectors import plan_catalog_invalidate
from subscriptions.services.state import account_cache_drop
from tenants.cache import credentials_changed


@receiver([post_save, post_delete], sender=Plan)
def _plan_changed(sender, **kwargs):
    # After commit: invalidating earlier would let a concurrent reader cache the old rows again.
    transaction.on_commit(plan_catalog_invalidate)


@receiver(post_save, sender=BillingAccount)
def _billing_account_changed(sender, instance, **kwargs):
    # That tenant's entries only: a subscription change (every Stripe webhook about it) must not
    # empty every tenant's cached hosts, keys and limits in every process.
    account_cache_drop(instance.tenant.schema_name)


@receiver(post_delete, sender=BillingAccount)
def _billing_account_deleted(sender, **kwargs):
    # With its tenant, as a rule: the tenant may be gone already; drop every cached entry.
    credentials_changed()
