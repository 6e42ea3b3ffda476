"""Commitments in the portal (en, pt-BR, es) and the finance admin: the owner sees this period's
commitment, spend so far and the true-up it would take, and the usage billing threshold; finance
sets a tenant's and a plan's terms (audited)."""

import pytest

from commitments import services
from commitments.models import PlanTerms, SubscriptionTerms
from tests.portal.conftest import new_portal_client, sign_in
from tests.subscriptions.conftest import subscribe

from .conftest import use

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_portal(owner, tenant):
    return sign_in(new_portal_client(), owner, tenant)


def test_owner_sees_the_commitment_spend_so_far_and_the_threshold(
    catalog, owner_client, owner_portal, tenant
):
    subscribe(owner_client, plan_id="starter", payment_method="pm_card_visa")  # 29.00
    services.subscription_terms_set(
        tenant=tenant, minimum_commitment=10000, usage_threshold=5000, actor="finance@test"
    )
    use(tenant, 16000)  # 12.00 of overage so far

    page = owner_portal.get("/commitments/").content.decode()
    assert 'data-testid="committed">$100.00<' in page
    assert 'data-testid="spent">$41.00<' in page  # 29.00 plan + 12.00 usage
    assert 'data-testid="shortfall">$59.00<' in page
    assert 'data-testid="threshold">$50.00<' in page and 'data-testid="usage">$12.00<' in page
    body = owner_client.get("/api/v1/commitments").json()
    assert {k: body[k] for k in ("currency", "minimum_commitment", "usage_threshold")} == {
        "currency": "usd",
        "minimum_commitment": "100.00",
        "usage_threshold": "50.00",
    }
    assert (body["spent"], body["usage"], body["true_ups"], body["threshold_invoices"]) == (
        "41.00",
        "12.00",
        [],
        [],
    )
    assert body["period_start"] < body["period_end"]
    dashboard = owner_portal.get("/").content.decode()
    assert "Minimum commitment: $100.00" in dashboard and 'href="/commitments/"' in dashboard


@pytest.mark.parametrize(
    "language, words",
    [
        ("pt-br", ["Compromisso mínimo", "Cobrança progressiva", "não tem compromisso mínimo"]),
        ("es", ["Compromiso mínimo", "Facturación progresiva", "no tiene compromiso mínimo"]),
    ],
)
def test_the_commitment_page_speaks_the_members_language(owner_portal, language, words):
    owner_portal.post("/i18n/setlang/", {"language": language, "next": "/commitments/"})
    page = owner_portal.get("/commitments/").content.decode()
    for word in words:
        assert word in page


def test_finance_sets_a_tenants_and_a_plans_terms_audited(finance_admin, catalog, tenant):
    from tenants.models import AuditEvent

    response = finance_admin.post(
        "/admin/commitments/subscriptionterms/add/",
        {"tenant": tenant.pk, "minimum_commitment": "1000.00", "usage_threshold": ""},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    terms = SubscriptionTerms.objects.get(tenant=tenant)
    assert (terms.minimum_commitment, terms.usage_threshold) == (100000, None)
    audit = AuditEvent.objects.get(tenant=tenant, action="commitments.terms")
    assert audit.after == {"minimum_commitment": 100000, "usage_threshold": None}
    assert audit.actor == "finance@platform.test"

    plan = catalog["starter"]
    response = finance_admin.post(
        "/admin/commitments/planterms/add/",
        {"plan": plan.pk, "minimum_commitment": "", "usage_threshold": "50"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert PlanTerms.objects.get(plan=plan).usage_threshold == 5000
    # The tenant's own commitment wins; the threshold comes from its plan.
    from commitments.selectors import terms_get
    from subscriptions.models import BillingAccount

    BillingAccount.objects.update_or_create(tenant=tenant, defaults={"plan": plan})
    effective = terms_get(tenant=tenant)
    assert (effective.minimum_commitment, effective.usage_threshold) == (100000, 5000)
    assert (effective.commitment_source, effective.threshold_source) == ("subscription", "plan")


def test_finance_reads_each_tenants_terms_as_money_in_its_plans_currency(
    finance_admin, catalog, tenant, other_tenant, django_assert_max_num_queries
):
    """The tenants' terms list said 150000 where the plans' list said $1,500.00: both show money,
    a tenant's in its own plan's currency, read with the rows (no query per row)."""
    from subscriptions.models import BillingAccount, Plan

    euro = Plan.objects.create(
        code="starter-eur",
        name="Starter EU",
        currency="eur",
        price_monthly=2500,
        price_yearly=25000,
    )
    BillingAccount.objects.update_or_create(tenant=tenant, defaults={"plan": catalog["starter"]})
    BillingAccount.objects.update_or_create(tenant=other_tenant, defaults={"plan": euro})
    for owner in (tenant, other_tenant):
        services.subscription_terms_set(
            tenant=owner, minimum_commitment=150000, usage_threshold=None, actor="finance@test"
        )
    services.plan_terms_set(
        plan=euro, minimum_commitment=None, usage_threshold=5000, actor="finance@test"
    )

    finance_admin.get("/admin/commitments/subscriptionterms/")  # the session and permissions
    with django_assert_max_num_queries(12):
        page = finance_admin.get("/admin/commitments/subscriptionterms/").content.decode()
    assert "$1,500.00" in page and "€1,500.00" in page and "150000" not in page
    plans = finance_admin.get("/admin/commitments/planterms/").content.decode()
    assert "€50.00" in plans
