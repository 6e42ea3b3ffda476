"""A changed invoice state may change its tenant's billing status (an invoice marked overdue, paid
or voided): every process drops its cached copy once the change is committed."""

from django.db import connection
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from invoicing.models import InvoiceState
from tenants.cache import key_changed
from tenants.selectors import billing_status_key


@receiver([post_save, post_delete], sender=InvoiceState)
def _invoice_state_changed(sender, **kwargs):
    # Invoice states live in their tenant's schema: the connection's is the tenant's.
    key_changed(billing_status_key(connection.schema_name))
