"""The platform staff groups (tenants 0002/0003) read the Finance overview and its facts: every
group (finance, support, read_only) gets view permission on the analytics models, which is what the
overview and its CSV exports check."""

from django.db import migrations

MODELS = ["subscriptionfact", "mrrmovement", "invoicefact", "refundfact"]
GROUPS = ["finance", "support", "read_only"]


def grant(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    config = apps.get_app_config("analytics")
    config.models_module = True
    create_permissions(config, apps=apps, verbosity=0)
    config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permissions = list(
        Permission.objects.filter(
            content_type__app_label="analytics", codename__in=[f"view_{m}" for m in MODELS]
        )
    )
    for name in GROUPS:
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(*permissions)


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permissions = Permission.objects.filter(content_type__app_label="analytics")
    for group in Group.objects.filter(name__in=GROUPS):
        group.permissions.remove(*permissions)


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0001_initial"),
        ("tenants", "0003_staff_group_permissions"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
