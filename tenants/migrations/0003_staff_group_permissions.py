"""What each platform staff group may do in the admin (API.md: finance = money actions, support =
read and resend, read_only = read), as model permissions so the ordinary Django checks apply.

0002 created the groups empty and subscriptions/0004 gave finance the billing catalogue only, so
finance got a bare 403 on the audit log, usage, notifications and the billing policy, and support and
read_only could open nothing. Here:

- every group views the back-office (READ): tenants and their people and keys, the audit log, plans,
  billing accounts, Stripe events, coupons, the billing policy, usage, notification deliveries, the
  platform Slack settings and dj-stripe's mirror of money objects. Not users, groups, dj-stripe's API
  keys (secrets) or the Celery schedules: those are the superuser's.
- support also resends: `notifications.change_delivery` (the delivery log's and the invoices'
  "Resend" and "Re-render PDF");
- finance also moves money and edits what money depends on: `djstripe.change_invoice` (refunds,
  credit notes, void, mark uncollectible, payment retry: invoicing/admin.py), the billing policy, the
  platform Slack channel, and resends too.

Usage and notifications are tenant-schema apps, but their permission rows live in the public schema
with the groups (the admin runs on the public host and reads the user's permissions there before it
switches to a tenant's schema).
"""

from django.db import migrations

READ = {
    "tenants": ["tenant", "domain", "membership", "apikey", "auditevent"],
    "subscriptions": ["plan", "billingaccount", "webhookevent"],
    "coupons": ["coupon", "couponredemption"],
    "policies": ["billingpolicy"],
    "usage": [
        "meter",
        "usageevent",
        "usagerollup",
        "usagedailyrollup",
        "usagealert",
        "meterpush",
        "collector",
        "collectorrun",
    ],
    "notifications": ["delivery"],
    "notifications_platform": ["platformslacksettings"],
    "djstripe": [
        "customer",
        "subscription",
        "subscriptionschedule",
        "paymentmethod",
        "card",
        "invoice",
        "lineitem",
        "charge",
        "refund",
        "dispute",
        "balancetransaction",
        "paymentintent",
        "setupintent",
        "price",
        "product",
        "coupon",
        "promotioncode",
        "discount",
        "taxrate",
        "event",
        "webhookeventtrigger",
    ],
}
RESEND = [("notifications", "change_delivery")]
MONEY = [
    ("djstripe", "change_invoice"),
    ("policies", "add_billingpolicy"),
    ("policies", "change_billingpolicy"),
    ("notifications_platform", "add_platformslacksettings"),
    ("notifications_platform", "change_platformslacksettings"),
]
GRANTS = {
    "read_only": [],
    "support": RESEND,
    "finance": RESEND + MONEY,
}


# Apps whose tables live in the tenants' schemas. Their migrations are not this one's dependencies: a
# new tenant schema records the shared apps' migrations (this one included) before it runs the tenant
# apps', so depending on them would make every new schema's history inconsistent.
TENANT_APP_LABELS = {"usage", "notifications"}


def _permissions(apps, codenames):
    Permission = apps.get_model("auth", "Permission")
    return [
        Permission.objects.get(content_type__app_label=label, codename=codename)
        for label, codename in codenames
    ]


def _ensure_permissions(apps):
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after `migrate` (post_migrate); a fresh database needs them now.
    for label in READ.keys() - TENANT_APP_LABELS:
        config = apps.get_app_config(label)
        config.models_module = True
        create_permissions(config, apps=apps, verbosity=0)
        config.models_module = None
    # The tenant apps' models are not in this migration's state: their rows by name (post_migrate
    # finds them by content type and codename later and leaves them as they are).
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    for label in TENANT_APP_LABELS:
        for model in READ[label]:
            content_type, _ = ContentType.objects.get_or_create(app_label=label, model=model)
            for action in ("add", "change", "delete", "view"):
                Permission.objects.get_or_create(
                    content_type=content_type,
                    codename=f"{action}_{model}",
                    defaults={"name": f"Can {action} {model}"},
                )


def _wanted(name):
    reads = [(label, f"view_{model}") for label, models in READ.items() for model in models]
    return reads + GRANTS[name]


def grant(apps, schema_editor):
    _ensure_permissions(apps)
    Group = apps.get_model("auth", "Group")
    for name in GRANTS:
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(*_permissions(apps, _wanted(name)))


# finance's grants of subscriptions/0004, which a reverse of this migration keeps.
FINANCE_BEFORE = {
    ("djstripe", f"view_{model}")
    for model in [
        "customer",
        "subscription",
        "paymentmethod",
        "invoice",
        "event",
        "webhookeventtrigger",
    ]
} | {
    (label, f"view_{model}")
    for label, models in {
        "tenants": ["tenant"],
        "coupons": ["coupon", "couponredemption"],
        "subscriptions": ["plan", "billingaccount", "webhookevent"],
    }.items()
    for model in models
}


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name in GRANTS:
        group = Group.objects.filter(name=name).first()
        if group is not None:
            keep = FINANCE_BEFORE if name == "finance" else set()
            group.permissions.remove(
                *_permissions(apps, [p for p in _wanted(name) if p not in keep])
            )


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0002_staff_groups"),
        ("subscriptions", "0006_seed_plan_usage_policy"),
        ("coupons", "0001_initial"),
        ("policies", "0001_initial"),
        ("notifications_platform", "0001_initial"),
        ("djstripe", "0003_2_11"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [migrations.RunPython(grant, revoke)]
