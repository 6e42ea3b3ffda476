"""The seed plans' usage policy: the free plan denies beyond every limit (hard); the paid plans are
soft, and Starter and Professional bill API calls above their limit at $2.00 per 1,000.
Reversible: unapplying puts these plans back to the defaults (all soft, no overage)."""

from django.db import migrations

OVERAGE = {"resource": "api_calls", "unit_amount": 200, "block_size": 1000}
OVERAGE_PLANS = ("starter", "professional")


def seed(apps, schema_editor):
    Plan = apps.get_model("subscriptions", "Plan")
    for plan in Plan.objects.filter(code="free"):
        plan.hard_limits = [
            resource for resource, limit in (plan.limits or {}).items() if limit is not None
        ]
        plan.save(update_fields=["hard_limits"])
    for plan in Plan.objects.filter(code__in=OVERAGE_PLANS):
        if (plan.limits or {}).get(OVERAGE["resource"]) is None:
            continue
        plan.overage_resource = OVERAGE["resource"]
        plan.overage_unit_amount = OVERAGE["unit_amount"]
        plan.overage_block_size = OVERAGE["block_size"]
        plan.save(update_fields=["overage_resource", "overage_unit_amount", "overage_block_size"])


def unseed(apps, schema_editor):
    apps.get_model("subscriptions", "Plan").objects.filter(
        code__in=("free", *OVERAGE_PLANS)
    ).update(hard_limits=[], overage_resource="", overage_unit_amount=0, overage_block_size=1)


class Migration(migrations.Migration):
    dependencies = [("subscriptions", "0005_plan_usage_policy_and_overage")]
    operations = [migrations.RunPython(seed, unseed)]
