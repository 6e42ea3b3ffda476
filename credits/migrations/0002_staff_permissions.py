"""Staff groups and prepaid credits (tenants/0003's rule): every group views wallets, grants, the
ledger and invoice credits; finance also grants and voids credit (add/change credit grants)."""

from django.db import migrations

from tenants.staff_permissions import staff_permissions


class Migration(migrations.Migration):
    dependencies = [
        ("credits", "0001_initial"),
        ("tenants", "0003_staff_group_permissions"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [
        staff_permissions(
            app_label="credits",
            models=["creditwallet", "creditgrant", "creditledgerentry", "invoicecredit"],
            finance=["add_creditgrant", "change_creditgrant"],
        )
    ]
