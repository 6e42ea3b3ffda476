"""The finance group may use the billing back-office in the admin.

Model permissions, granted to the group here (not `has_*_permission` rules in the admin classes), so
the ordinary Django permission checks apply everywhere, dj-stripe's own admin included: every
permission on the plans, billing accounts, webhook events, coupons and redemptions (the admin
classes themselves refuse what makes no sense, such as adding a billing account), view on the
dj-stripe mirror, and view on tenants (the "advance test clock" action lives on the tenant list).
"""

from django.db import migrations

FULL = {
    "subscriptions": ["plan", "billingaccount", "webhookevent"],
    "coupons": ["coupon", "couponredemption"],
}
VIEW = {
    "djstripe": [
        "customer",
        "subscription",
        "paymentmethod",
        "invoice",
        "event",
        "webhookeventtrigger",
        "webhookendpoint",
    ],
    "tenants": ["tenant"],
}


def _permissions(apps):
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after `migrate` (post_migrate); a fresh database needs them now.
    for label in {*FULL, *VIEW}:
        config = apps.get_app_config(label)
        config.models_module = True
        create_permissions(config, apps=apps, verbosity=0)
        config.models_module = None
    Permission = apps.get_model("auth", "Permission")
    wanted = [
        (label, f"{action}_{model}")
        for label, models in FULL.items()
        for model in models
        for action in ("add", "change", "delete", "view")
    ]
    wanted += [(label, f"view_{model}") for label, models in VIEW.items() for model in models]
    found = [
        Permission.objects.get(content_type__app_label=label, codename=codename)
        for label, codename in wanted
    ]
    return found


def grant(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Group.objects.get(name="finance").permissions.add(*_permissions(apps))


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Group.objects.get(name="finance").permissions.remove(*_permissions(apps))


class Migration(migrations.Migration):
    dependencies = [
        ("subscriptions", "0003_billingaccount_webhookevent"),
        ("coupons", "0001_initial"),
        ("djstripe", "0003_2_11"),
        ("tenants", "0002_staff_groups"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [migrations.RunPython(grant, revoke)]
