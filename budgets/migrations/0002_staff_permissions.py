"""Staff groups and spend budgets (tenants/0003's rule): every group views budgets and the alerts
sent; finance also edits budgets (change budget)."""

from django.db import migrations

from tenants.staff_permissions import staff_permissions


class Migration(migrations.Migration):
    dependencies = [
        ("budgets", "0001_initial"),
        ("tenants", "0003_staff_group_permissions"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [
        staff_permissions(
            app_label="budgets",
            models=["budget", "budgetalert"],
            finance=["change_budget"],
        )
    ]
