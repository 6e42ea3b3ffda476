"""Staff groups and the feature catalog (tenants/0003's rule): every group views features; finance
also adds and edits them (display names; keys are fixed once saved)."""

from django.db import migrations

from tenants.staff_permissions import staff_permissions


class Migration(migrations.Migration):
    dependencies = [
        ("entitlements", "0002_seed_features"),
        ("tenants", "0003_staff_group_permissions"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [
        staff_permissions(
            app_label="entitlements",
            models=["feature"],
            finance=["add_feature", "change_feature"],
        )
    ]
