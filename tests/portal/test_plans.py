"""Plans: compare, change with Stripe's preview first, cancel at period end and resume."""

import pytest
from django.conf import settings

from subscriptions.models import BillingAccount

pytestmark = pytest.mark.django_db


def test_the_plans_page_compares_plans_and_marks_the_current_one(owner_portal, subscribed):
    html = owner_portal.get("/plans/").content.decode()
    for name in ("Free", "Starter", "Professional", "Enterprise"):
        assert f">{name}" in html
    assert "You are on the Starter plan." in html
    assert "$29.00 a month" in html
    assert (
        'href="/plans/professional/change/"' in html and 'href="/plans/starter/change/"' not in html
    )


def test_prices_are_written_the_way_the_visitors_language_writes_them(owner_portal, subscribed):
    owner_portal.cookies[settings.LANGUAGE_COOKIE_NAME] = "pt-br"
    assert "US$\xa029,00" in owner_portal.get("/plans/").content.decode()
    owner_portal.cookies[settings.LANGUAGE_COOKIE_NAME] = "es"
    assert "29,00\xa0US$" in owner_portal.get("/plans/").content.decode()


def test_without_a_subscription_there_is_nothing_to_change(owner_portal):
    html = owner_portal.get("/plans/").content.decode()
    assert "This organisation has no subscription." in html
    assert "/change/" not in html


def test_a_viewer_compares_but_does_not_change(viewer_portal, subscribed):
    html = viewer_portal.get("/plans/").content.decode()
    assert "Starter" in html and "/change/" not in html and "/plans/cancel/" not in html
    assert viewer_portal.get("/plans/professional/change/").status_code == 403
    assert viewer_portal.post("/plans/cancel/").status_code == 403


def test_an_upgrade_shows_the_preview_then_changes_the_plan(admin_portal, subscribed, tenant):
    preview = admin_portal.get("/plans/professional/change/")
    assert preview.status_code == 200
    due_now = preview.context["preview"]["amount_due_now"]
    assert 0 < due_now <= 9900
    html = preview.content.decode()
    assert "$99.00" in html  # the next invoice at the new price
    response = admin_portal.post("/plans/professional/change/", {"billing_cycle": ""})
    assert response.status_code == 302 and response["Location"] == "/plans/"
    assert BillingAccount.objects.get(tenant=tenant).plan.code == "professional"
    assert "Your plan is now Professional." in admin_portal.get("/plans/").content.decode()


def test_changing_to_an_unknown_plan_is_an_error(owner_portal, subscribed):
    response = owner_portal.get("/plans/platinum/change/")
    assert response.status_code == 400
    assert "No such plan." in response.content.decode()


def test_cancel_at_period_end_and_resume(owner_portal, subscribed, tenant):
    response = owner_portal.post("/plans/cancel/", follow=True)
    assert "Your subscription will end at the end of the period." in response.content.decode()
    assert BillingAccount.objects.get(tenant=tenant).cancel_at_period_end is True
    assert "/plans/resume/" in response.content.decode()
    owner_portal.post("/plans/resume/")
    assert BillingAccount.objects.get(tenant=tenant).cancel_at_period_end is False


def test_plans_show_hard_limits_and_the_overage_price(owner_portal):
    html = owner_portal.get("/plans/").content.decode()
    free = html[html.index('id="plan-free"') : html.index('id="plan-starter"')]
    starter = html[html.index('id="plan-starter"') : html.index('id="plan-professional"')]
    assert 'api_calls: 1,000 <span class="muted">(hard limit)</span>' in free
    assert "Above the limit" not in free
    assert "api_calls: 10,000</li>" in starter
    assert "Above the limit: $2.00 per 1,000 api_calls" in starter
    owner_portal.cookies[settings.LANGUAGE_COOKIE_NAME] = "pt-br"
    html = owner_portal.get("/plans/").content.decode()
    assert "Acima do limite: US$\xa02,00 por 1.000 api_calls" in html
    assert "(limite rígido)" in html
