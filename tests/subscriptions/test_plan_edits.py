"""Finance's plan edits in the admin go through the plan services: each change is one audit row with
the before/after of what changed (issue 15)."""

import json

import pytest

pytestmark = pytest.mark.django_db

PLANS = "/admin/subscriptions/plan/"


def _audit(action, **filters):
    from tenants.models import AuditEvent

    return list(AuditEvent.objects.filter(action=action, **filters).order_by("created"))


def test_a_plan_price_and_limit_edit_in_the_admin_writes_one_audit_row_with_before_and_after(
    finance_admin, stripe_on
):
    from subscriptions.models import Plan

    starter = Plan.objects.get(code="starter")
    form = {
        "code": "starter",
        "name": starter.name,
        "description": starter.description,
        "currency": "usd",
        "price_monthly": "3900",
        "price_yearly": str(starter.price_yearly),
        "features": json.dumps(starter.features),
        "is_public": "on",
        "is_active": "on",
        "limits": json.dumps({**starter.limits, "api_calls": 20000}),
        "hard_limits": json.dumps(starter.hard_limits),
        "alert_thresholds": json.dumps(starter.alert_thresholds),
        "feature_keys": json.dumps(starter.feature_keys),
        "trial_days": str(starter.trial_days),
        "overage_resource": starter.overage_resource,
        "overage_unit_amount": str(starter.overage_unit_amount),
        "overage_block_size": str(starter.overage_block_size),
    }
    old_limits = dict(starter.limits)
    response = finance_admin.post(f"{PLANS}{starter.pk}/change/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    [audit] = _audit("plan.update", target="starter")
    assert audit.actor == "finance@platform.test"
    assert audit.before == {"price_monthly": 2900, "limits": old_limits}
    assert audit.after == {"price_monthly": 3900, "limits": {**old_limits, "api_calls": 20000}}
    assert Plan.objects.get(pk=starter.pk).price_monthly == 3900

    finance_admin.post(f"{PLANS}{starter.pk}/change/", form)  # saved again unchanged: no new row
    assert len(_audit("plan.update")) == 1


def test_a_plan_created_in_the_admin_is_audited(finance_admin, stripe_on):
    from subscriptions.models import Plan

    response = finance_admin.post(
        f"{PLANS}add/",
        {
            "code": "team",
            "name": "Team",
            "description": "",
            "currency": "usd",
            "price_monthly": "4900",
            "price_yearly": "49000",
            "features": "[]",
            "is_active": "on",
            "limits": '{"users": 20}',
            "hard_limits": "[]",
            "alert_thresholds": "[80, 100]",
            "feature_keys": "[]",
            "trial_days": "0",
            "overage_resource": "",
            "overage_unit_amount": "0",
            "overage_block_size": "1",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Plan.objects.get(code="team").price_monthly == 4900
    [audit] = _audit("plan.create", target="team")
    assert (
        audit.before is None
        and audit.after["price_monthly"] == 4900
        and audit.after["limits"] == {"users": 20}
    )
