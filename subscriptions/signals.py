"""A changed or deleted plan drops the cached catalog, whoever changed it (admin, command, shell)."""

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from subscriptions.models import Plan
from subscriptions.selectors import plan_catalog_invalidate


@receiver([post_save, post_delete], sender=Plan)
def _plan_changed(sender, **kwargs):
    # After commit: invalidating earlier would let a concurrent reader cache the old rows again.
    transaction.on_commit(plan_catalog_invalidate)
