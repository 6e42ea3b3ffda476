"""The spend budget in the portal (en, pt-BR, es) and the finance admin: the owner sets, changes
and removes the budget and sees this period's spend, projection and bar; a viewer only reads;
finance staff read every budget and change one (through the service: audited)."""

import pytest

from budgets.models import Budget, BudgetAlert
from tests.portal.conftest import new_portal_client, sign_in
from tests.subscriptions.conftest import subscribe

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_portal(owner, tenant):
    return sign_in(new_portal_client(), owner, tenant)


def test_owner_sets_changes_and_removes_the_budget(
    catalog, owner_client, owner_portal, tenant, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        subscribe(owner_client, plan_id="starter", payment_method="pm_card_visa")
    page = owner_portal.get("/budget/").content.decode()
    assert "Spend budget" in page and 'data-testid="no-budget"' in page
    assert 'href="/budget/" aria-current="page"' in page  # in the navigation
    assert 'data-testid="budget-spent">$29.00<' in page  # spend shows without a budget too

    with django_capture_on_commit_callbacks(execute=True):
        response = owner_portal.post(
            "/budget/save/", {"amount": "50.00", "currency": "usd", "hard_cap": "on"}
        )
    assert response.status_code == 302 and response["Location"] == "/budget/"
    budget = Budget.objects.get(tenant=tenant)
    assert (budget.amount, budget.currency, budget.hard_cap) == (5000, "usd", True)
    page = owner_portal.get("/budget/").content.decode()
    assert "Budget saved." in page
    assert 'data-testid="budget-amount">$50.00<' in page
    assert 'data-testid="budget-percent">58%<' in page  # 29.00 of 50.00
    assert '<meter id="budget-meter" min="0" max="5000"' in page
    # The check that followed the save sent the 50% alert: listed for this period.
    assert page.count('data-testid="budget-alert"') == 1 and "<td>50%</td>" in page
    assert BudgetAlert.objects.filter(tenant=tenant).count() == 1

    bad = owner_portal.post("/budget/save/", {"amount": "-1", "currency": "usd"})
    assert bad.status_code == 400 and Budget.objects.get(tenant=tenant).amount == 5000
    mismatch = owner_portal.post("/budget/save/", {"amount": "10", "currency": "eur"})
    assert mismatch.status_code == 400
    assert "A budget is set in the currency you are billed in." in mismatch.content.decode()

    response = owner_portal.post("/budget/save/", {"amount": "80", "currency": "usd"})
    assert response.status_code == 302
    budget.refresh_from_db()
    assert (budget.amount, budget.hard_cap) == (8000, False)

    assert owner_portal.post("/budget/remove/").status_code == 302
    assert not Budget.objects.filter(tenant=tenant).exists()
    assert "Budget removed." in owner_portal.get("/budget/").content.decode()


@pytest.mark.parametrize(
    "language, words",
    [
        ("en", ["Spend budget", "reaches 50%, 80% and 100% of it", "Projected for the period"]),
        # The intro names percentages: a template's "%" is looked up as "%%" (it was English).
        ("pt-br", ["Orçamento de gastos", "atinge 50%, 80% e 100% dele", "Gasto até agora"]),
        ("es", ["Presupuesto de gasto", "alcanza el 50 %, el 80 %", "Previsión para el periodo"]),
    ],
)
def test_the_budget_page_speaks_the_members_language(owner_portal, tenant, language, words):
    Budget.objects.create(tenant=tenant, amount=10000, currency="usd", hard_cap=True)
    owner_portal.post("/i18n/setlang/", {"language": language, "next": "/budget/"})
    page = owner_portal.get("/budget/").content.decode()
    for word in words:
        assert word in page
    response = owner_portal.post("/budget/save/", {"amount": "120", "currency": "usd"})
    assert response.status_code == 302
    assert Budget.objects.get(tenant=tenant).amount == 12000


def test_without_a_budget_the_page_offers_the_currency_the_tenant_is_billed_in(
    other_owner, other_tenant
):
    """A tenant whose billing address is in Germany is offered euro plans (when the catalog has
    them), so its budget is in euros too: the page said US$ before any subscription."""
    from subscriptions.models import Plan
    from subscriptions.selectors import plan_catalog_invalidate
    from tests.payments.conftest import bill_in
    from tests.portal.conftest import OTHER_PORTAL_HOST

    Plan.objects.create(
        code="starter-eur",
        name="Starter EU",
        currency="eur",
        price_monthly=2500,
        price_yearly=25000,
    )
    plan_catalog_invalidate()
    bill_in(other_tenant, "DE")
    portal = sign_in(new_portal_client(OTHER_PORTAL_HOST), other_owner, other_tenant)
    page = portal.get("/budget/").content.decode()
    assert 'name="currency" value="eur"' in page and "US$" not in page and "€" in page


def test_viewer_reads_but_cannot_change(viewer, tenant):
    Budget.objects.create(tenant=tenant, amount=10000, currency="usd")
    portal = sign_in(new_portal_client(), viewer, tenant)
    page = portal.get("/budget/").content.decode()
    assert "$100.00" in page and 'action="/budget/save/"' not in page
    assert portal.post("/budget/save/", {"amount": "5", "currency": "usd"}).status_code == 403
    assert portal.post("/budget/remove/").status_code == 403
    assert Budget.objects.get(tenant=tenant).amount == 10000


def test_another_tenants_portal_never_shows_the_budget(other_owner, other_tenant, tenant):
    from tests.portal.conftest import OTHER_PORTAL_HOST

    Budget.objects.create(tenant=tenant, amount=424242, currency="usd")
    portal = sign_in(new_portal_client(OTHER_PORTAL_HOST), other_owner, other_tenant)
    page = portal.get("/budget/").content.decode()
    assert "4,242.42" not in page and "4.242,42" not in page and 'data-testid="no-budget"' in page


def test_finance_reads_and_changes_a_budget_audited(finance_admin, tenant):
    from tenants.models import AuditEvent

    budget = Budget.objects.create(tenant=tenant, amount=10000, currency="usd")
    listing = finance_admin.get("/admin/budgets/budget/").content.decode()
    assert "$100.00" in listing and "Acme" in listing
    response = finance_admin.post(
        f"/admin/budgets/budget/{budget.pk}/change/",
        {"amount": "150.00", "currency": "usd", "hard_cap": "on"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    budget.refresh_from_db()
    assert (budget.amount, budget.hard_cap) == (15000, True)
    audit = AuditEvent.objects.get(tenant=tenant, action="budgets.set")
    assert audit.actor == "finance@platform.test" and audit.after["amount"] == 15000
    assert finance_admin.get("/admin/budgets/budgetalert/").status_code == 200

    refused = finance_admin.post(
        f"/admin/budgets/budget/{budget.pk}/change/",
        {"amount": "0", "currency": "usd", "hard_cap": ""},
        follow=True,
    )
    page = refused.content.decode()
    assert "Must be more than zero." in page and "was changed successfully" not in page
    budget.refresh_from_db()
    assert (budget.amount, budget.hard_cap) == (15000, True)
