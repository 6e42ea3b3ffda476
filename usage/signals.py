"""A meter saved or deleted (the admin, a command, a migration's data) changes what ingest does with
its events: every process drops its cached copy of the tenant's meters once the change is
committed (usage.selectors.meters_get)."""

from django.db import connection
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from tenants.cache import key_changed
from usage.models import Meter
from usage.selectors import meters_key


@receiver([post_save, post_delete], sender=Meter)
def _meter_changed(sender, **kwargs):
    # Meters live in their tenant's schema: the connection's is the tenant's.
    key_changed(meters_key(connection.schema_name))
