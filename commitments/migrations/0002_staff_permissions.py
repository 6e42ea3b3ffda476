"""Staff groups and commitments (tenants/0003's rule): every group views the terms, true-ups and
threshold invoices; finance also sets the terms (add/change plan and subscription terms)."""

from django.db import migrations

from tenants.staff_permissions import staff_permissions


class Migration(migrations.Migration):
    dependencies = [
        ("commitments", "0001_initial"),
        ("tenants", "0003_staff_group_permissions"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [
        staff_permissions(
            app_label="commitments",
            models=["planterms", "subscriptionterms", "commitmenttrueup", "thresholdinvoice"],
            finance=[
                "add_planterms",
                "change_planterms",
                "add_subscriptionterms",
                "change_subscriptionterms",
            ],
        )
    ]
