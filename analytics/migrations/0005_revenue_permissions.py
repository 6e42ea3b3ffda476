"""Every staff group reads the revenue report and the journal account codes; finance also sets the
account codes (add/change journalaccount)."""

from django.db import migrations

READ = ["revenueschedule", "revenuereversal", "journalaccount"]
GROUPS = ["finance", "support", "read_only"]
FINANCE = ["add_journalaccount", "change_journalaccount"]


def grant(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    config = apps.get_app_config("analytics")
    config.models_module = True
    create_permissions(config, apps=apps, verbosity=0)
    config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    reads = list(
        Permission.objects.filter(
            content_type__app_label="analytics", codename__in=[f"view_{m}" for m in READ]
        )
    )
    for name in GROUPS:
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(*reads)
    Group.objects.get(name="finance").permissions.add(
        *Permission.objects.filter(content_type__app_label="analytics", codename__in=FINANCE)
    )


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    codenames = [f"view_{m}" for m in READ] + FINANCE
    permissions = Permission.objects.filter(
        content_type__app_label="analytics", codename__in=codenames
    )
    for group in Group.objects.filter(name__in=GROUPS):
        group.permissions.remove(*permissions)


class Migration(migrations.Migration):
    dependencies = [("analytics", "0004_revenue_recognition")]

    operations = [migrations.RunPython(grant, revoke)]
