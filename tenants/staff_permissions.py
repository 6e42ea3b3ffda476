"""Staff groups' permissions on one app's models, as its migration grants them (tenants/0003's rule:
every staff group views the app's models; finance also gets the money actions listed for it).

    operations = [staff_permissions(app_label="budgets", models=["budget", "budgetalert"],
                                    finance=["change_budget"])]
"""

from django.db import migrations

GROUPS = ("read_only", "support", "finance")


def staff_permissions(*, app_label: str, models: list[str], finance: list[str]):
    """A RunPython operation granting (and on reverse revoking) the app's permissions."""

    def codenames(group: str) -> list[str]:
        return [f"view_{model}" for model in models] + (finance if group == "finance" else [])

    def permissions(apps, wanted: list[str]):
        # The app's permission rows may not exist yet within this migrate run (post_migrate
        # creates them at the end): create them now.
        from django.contrib.auth.management import create_permissions

        config = apps.get_app_config(app_label)
        config.models_module = True
        create_permissions(config, apps=apps, verbosity=0)
        config.models_module = None
        Permission = apps.get_model("auth", "Permission")
        return list(
            Permission.objects.filter(content_type__app_label=app_label, codename__in=wanted)
        )

    def grant(apps, schema_editor):
        Group = apps.get_model("auth", "Group")
        for name in GROUPS:
            group, _ = Group.objects.get_or_create(name=name)
            group.permissions.add(*permissions(apps, codenames(name)))

    def revoke(apps, schema_editor):
        Group = apps.get_model("auth", "Group")
        for name in GROUPS:
            group = Group.objects.filter(name=name).first()
            if group is not None:
                group.permissions.remove(*permissions(apps, codenames(name)))

    return migrations.RunPython(grant, revoke)
