"""Staff groups' permissions on one app's models, as its migration grants them (tenants/0003's rule:
every staff group views the app's models; support also gets the resends listed for it, finance
those and the money actions listed for it).

    operations = [staff_permissions(app_label="budgets", models=["budget", "budgetalert"],
                                    finance=["change_budget"])]

A tenant app's models are not in a shared app's migration state, and its own migrations run in
every tenant schema: its grants are a `tenants` migration with `tenant_app=True`, which finds or
makes the permission rows by name (as tenants/0003 does for usage and notifications).
"""

from collections.abc import Sequence

from django.db import migrations

GROUPS = ("read_only", "support", "finance")


def staff_permissions(
    *,
    app_label: str,
    models: list[str],
    finance: list[str],
    support: Sequence[str] = (),
    tenant_app: bool = False,
):
    """A RunPython operation granting (and on reverse revoking) the app's permissions."""

    def codenames(group: str) -> list[str]:
        extra = {"finance": [*support, *finance], "support": list(support)}.get(group, [])
        return [f"view_{model}" for model in models] + extra

    def permissions(apps, wanted: list[str]):
        # The app's permission rows may not exist yet within this migrate run (post_migrate
        # creates them at the end): create them now.
        if tenant_app:
            _ensure_by_name(apps, app_label, models)
        else:
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


def _ensure_by_name(apps, app_label: str, models: list[str]) -> None:
    """The content types and default permissions of a tenant app's models, by name (post_migrate
    finds them by content type and codename later and leaves them as they are)."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    for model in models:
        content_type, _ = ContentType.objects.get_or_create(app_label=app_label, model=model)
        for action in ("add", "change", "delete", "view"):
            Permission.objects.get_or_create(
                content_type=content_type,
                codename=f"{action}_{model}",
                defaults={"name": f"Can {action} {model}"},
            )
