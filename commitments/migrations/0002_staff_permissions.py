"""Staff groups and commitments (tenants/0003's rule): every group views the terms, true-ups and
threshold invoices; finance also sets the terms (add/change plan and subscription terms)."""

from django.db import migrations

MODELS = ["planterms", "subscriptionterms", "commitmenttrueup", "thresholdinvoice"]
FINANCE = [
    "add_planterms",
    "change_planterms",
    "add_subscriptionterms",
    "change_subscriptionterms",
]
GROUPS = {"read_only": [], "support": [], "finance": FINANCE}


def _permissions(apps, codenames):
    from django.contrib.auth.management import create_permissions

    config = apps.get_app_config("commitments")
    config.models_module = True
    create_permissions(config, apps=apps, verbosity=0)
    config.models_module = None
    Permission = apps.get_model("auth", "Permission")
    return list(
        Permission.objects.filter(content_type__app_label="commitments", codename__in=codenames)
    )


def grant(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name, extra in GROUPS.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(*_permissions(apps, [f"view_{m}" for m in MODELS] + extra))


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name, extra in GROUPS.items():
        group = Group.objects.filter(name=name).first()
        if group is not None:
            group.permissions.remove(*_permissions(apps, [f"view_{m}" for m in MODELS] + extra))


class Migration(migrations.Migration):
    dependencies = [
        ("commitments", "0001_initial"),
        ("tenants", "0003_staff_group_permissions"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [migrations.RunPython(grant, revoke)]
