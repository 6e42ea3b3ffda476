"""Staff groups and outbound webhooks (tenants/0003's rule, added after it): every group reads a
tenant's endpoints, deliveries and events in the admin; support and finance also send them again
(retry a delivery; on an endpoint: send a test event, replay the week's failures, enable, disable),
as they resend notifications. read_only only reads. Before this, only superusers saw these pages."""

from django.db import migrations

from tenants.staff_permissions import staff_permissions


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0006_alter_apikey_options"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [
        staff_permissions(
            app_label="webhooks",
            models=["webhookendpoint", "webhookdelivery", "event"],
            support=["change_webhookendpoint", "change_webhookdelivery"],
            finance=[],
            tenant_app=True,
        )
    ]
