"""Prepaid credits in the portal (en, pt-BR, es) and the finance admin: the owner adds credit paid
with the default card and sees it in the balance and ledger; finance grants promotional credit
with a reason (audited, put on the Stripe balance) and voids what is left of it."""

import pytest

from credits.models import CreditGrant, CreditWallet
from tests.portal.conftest import new_portal_client, sign_in
from tests.subscriptions.conftest import admin_action, subscribe

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_portal(owner, tenant):
    return sign_in(new_portal_client(), owner, tenant)


def test_owner_adds_credit_in_the_portal(
    catalog, owner_client, owner_portal, tenant, stripe_client
):
    subscribe(owner_client, plan_id="starter", payment_method="pm_card_visa")
    page = owner_portal.get("/credits/").content.decode()
    assert "Prepaid credits" in page and "Add credits" in page and "$0.00" in page

    response = owner_portal.post("/credits/top-up/", {"amount": "50.00", "currency": "usd"})
    assert response.status_code == 302 and response["Location"] == "/credits/"
    page = owner_portal.get("/credits/").content.decode()
    assert "$50.00 of credit was added." in page
    assert 'data-testid="credit-balance">$50.00<' in page and "Credit added" in page
    assert CreditWallet.objects.get(tenant=tenant).balance == 5000

    bad = owner_portal.post("/credits/top-up/", {"amount": "-1", "currency": "usd"})
    assert bad.status_code == 400
    saved = owner_portal.post(
        "/credits/settings/",
        {
            "currency": "usd",
            "auto_top_up_below": "",
            "auto_top_up_amount": "",
            "low_balance_below": "10",
        },
    )
    assert saved.status_code == 302
    assert CreditWallet.objects.get(tenant=tenant).low_balance_below == 1000
    half = owner_portal.post(
        "/credits/settings/",
        {
            "currency": "usd",
            "auto_top_up_below": "10",
            "auto_top_up_amount": "",
            "low_balance_below": "",
        },
    )
    assert (
        half.status_code == 400 and "Set together with auto_top_up_below." in half.content.decode()
    )


@pytest.mark.parametrize(
    "language, words",
    [
        ("pt-br", ["Créditos pré-pagos", "Adicionar créditos", "Recarga automática e alertas"]),
        ("es", ["Créditos prepagos", "Añadir créditos", "Recarga automática y alertas"]),
    ],
)
def test_the_credits_page_speaks_the_members_language(owner_portal, language, words):
    owner_portal.post("/i18n/setlang/", {"language": language, "next": "/credits/"})
    page = owner_portal.get("/credits/").content.decode()
    for word in words:
        assert word in page


def test_viewer_sees_the_balance_but_cannot_buy(viewer, tenant):
    portal = sign_in(new_portal_client(), viewer, tenant)
    page = portal.get("/credits/").content.decode()
    assert "Prepaid credits" in page and 'action="/credits/top-up/"' not in page
    assert portal.post("/credits/top-up/", {"amount": "5", "currency": "usd"}).status_code == 403


def test_finance_grants_with_a_reason_audited_and_voids(
    finance_admin, catalog, tenant, stripe_client, django_capture_on_commit_callbacks
):
    from subscriptions.models import BillingAccount
    from subscriptions.services.customers import customer_ensure
    from tenants.models import AuditEvent

    customer_ensure(tenant=tenant)
    customer = BillingAccount.objects.get(tenant=tenant).stripe_customer_id
    form = {
        "tenant": tenant.pk,
        "currency": "usd",
        "amount": "25.00",
        "category": "promotional",
        "expires_at_0": "",
        "expires_at_1": "",
        "reason": "Outage credit, ticket 4411",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = finance_admin.post("/admin/credits/creditgrant/add/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    grant = CreditGrant.objects.get(tenant=tenant)
    assert (grant.amount, grant.category, grant.source, grant.actor) == (
        2500,
        "promotional",
        "staff",
        "finance@platform.test",
    )
    audit = AuditEvent.objects.get(tenant=tenant, action="credits.staff")
    assert audit.after["reason"] == "Outage credit, ticket 4411" and audit.actor == grant.actor
    assert stripe_client.v1.customers.retrieve(customer).balance == -2500

    no_reason = finance_admin.post("/admin/credits/creditgrant/add/", {**form, "reason": ""})
    assert no_reason.status_code == 200 and CreditGrant.objects.filter(tenant=tenant).count() == 1

    with django_capture_on_commit_callbacks(execute=True):
        admin_action(finance_admin, "/admin/credits/creditgrant/", "void", [grant])
    grant.refresh_from_db()
    assert (grant.state, grant.remaining, grant.closed_amount) == ("voided", 0, 2500)
    assert CreditWallet.objects.get(tenant=tenant).balance == 0
    assert stripe_client.v1.customers.retrieve(customer).balance == 0
    assert AuditEvent.objects.filter(tenant=tenant, action="credits.voided").count() == 1
