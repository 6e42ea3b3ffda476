"""Finance's plan edits in the admin go through the plan services: each change is one audit row with
the before/after of what changed (issue 15)."""

import json

import pytest

from billing_project import money

pytestmark = pytest.mark.django_db

PLANS = "/admin/subscriptions/plan/"


def _plan_form(plan, **changes):
    """The plan's admin form as the page fills it in (amounts in major units), with `changes`."""
    return {
        "code": plan.code,
        "name": plan.name,
        "description": plan.description,
        "currency": plan.currency,
        "price_monthly": money.to_major(plan.price_monthly, plan.currency),
        "price_yearly": money.to_major(plan.price_yearly, plan.currency),
        "features": json.dumps(plan.features),
        "is_public": "on",
        "is_active": "on",
        "limits": json.dumps(plan.limits),
        "hard_limits": json.dumps(plan.hard_limits),
        "alert_thresholds": json.dumps(plan.alert_thresholds),
        "feature_keys": json.dumps(plan.feature_keys),
        "trial_days": str(plan.trial_days),
        "overage_resource": plan.overage_resource,
        "overage_unit_amount": money.to_major(plan.overage_unit_amount, plan.currency),
        "overage_block_size": str(plan.overage_block_size),
        **changes,
    }


def _audit(action, **filters):
    from tenants.models import AuditEvent

    return list(AuditEvent.objects.filter(action=action, **filters).order_by("created"))


def test_a_plan_price_and_limit_edit_in_the_admin_writes_one_audit_row_with_before_and_after(
    finance_admin, stripe_on
):
    from subscriptions.models import Plan

    starter = Plan.objects.get(code="starter")
    form = _plan_form(
        starter,
        price_monthly="39.00",  # entered in dollars, stored in cents
        limits=json.dumps({**starter.limits, "api_calls": 20000}),
    )
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
            "price_monthly": "49.00",
            "price_yearly": "490.00",
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


def test_finance_enters_and_reads_plan_prices_in_the_currencys_major_units(
    finance_admin, stripe_on
):
    """Typing 29 for a $29.00 plan made it $0.29 when the form asked for cents; the plan's page
    shows and takes dollars (yen as they are), and refuses a fraction of a cent."""
    from subscriptions.models import Plan

    starter = Plan.objects.get(code="starter")
    page = finance_admin.get(f"{PLANS}{starter.pk}/change/").content.decode()
    assert f'name="price_monthly" value="{money.to_major(starter.price_monthly, "usd")}"' in page

    response = finance_admin.post(
        f"{PLANS}{starter.pk}/change/", _plan_form(starter, price_monthly="29.5")
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Plan.objects.get(pk=starter.pk).price_monthly == 2950

    refused = finance_admin.post(
        f"{PLANS}{starter.pk}/change/", _plan_form(starter, price_monthly="29.505")
    )
    assert refused.status_code == 200
    assert "USD amounts have at most 2 decimal places." in refused.content.decode()
    assert Plan.objects.get(pk=starter.pk).price_monthly == 2950

    yen = Plan.objects.create(
        code="starter-jpy",
        name="Starter JP",
        currency="jpy",
        price_monthly=2900,
        price_yearly=29000,
    )
    page = finance_admin.get(f"{PLANS}{yen.pk}/change/").content.decode()
    assert 'name="price_monthly" value="2900"' in page
    response = finance_admin.post(f"{PLANS}{yen.pk}/change/", _plan_form(yen, price_monthly="3500"))
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Plan.objects.get(pk=yen.pk).price_monthly == 3500
    refused = finance_admin.post(
        f"{PLANS}{yen.pk}/change/", _plan_form(yen, price_monthly="3500.5")
    )
    assert "JPY amounts are whole numbers." in refused.content.decode()


def test_finance_deactivates_a_plan_and_cannot_delete_it(finance_admin, stripe_on):
    """A deleted plan took its commitment terms with it and left a coupon restricted to it valid for
    every plan (no plan listed means any): the admin offers no delete, only "Is active"."""
    from subscriptions.models import Plan

    starter = Plan.objects.get(code="starter")
    assert finance_admin.get(f"{PLANS}{starter.pk}/delete/").status_code == 403
    assert 'value="delete_selected"' not in finance_admin.get(PLANS).content.decode()
    assert Plan.objects.filter(pk=starter.pk).exists()
    response = finance_admin.post(
        f"{PLANS}{starter.pk}/change/", {**_plan_form(starter), "is_active": ""}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Plan.objects.get(pk=starter.pk).is_active is False
