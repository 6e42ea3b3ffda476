"""Payment methods and invoices pages: who may see and change what, the errors they show, and the
happy paths against the session's Stripe emulator."""

import pytest
from django_tenants.utils import tenant_context

from tests.invoicing.conftest import billing, celery_eager, media, stripe_on  # noqa: F401 (fixtures)
from tests.portal.conftest import OTHER_PORTAL_HOST

pytestmark = pytest.mark.django_db


def cards_of(tenant):
    from subscriptions.services.payment_methods import payment_method_list

    return payment_method_list(tenant=tenant)


@pytest.fixture
def with_card(billing, tenant):  # noqa: F811 (a pytest fixture imported above)
    """acme's Stripe customer with a default Visa."""
    return billing.customer(tenant)


# Payment methods


def test_a_viewer_sees_the_cards_but_no_forms(with_card, viewer_portal):
    response = viewer_portal.get("/payment-methods/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Visa ending in 4242" in html and "Default" in html
    assert "Add a card" not in html and "Make default" not in html and ">Remove<" not in html
    assert 'href="/payment-methods/"' in html and 'href="/invoices/"' in html


def test_a_viewer_cannot_add_set_default_or_remove(with_card, viewer_portal, tenant):
    pm_id = cards_of(tenant)[0]["payment_method_id"]
    for path, data in [
        ("/payment-methods/add/", {"token": "pm_card_mastercard"}),
        (f"/payment-methods/{pm_id}/default/", {}),
        (f"/payment-methods/{pm_id}/remove/", {}),
    ]:
        response = viewer_portal.post(path, data)
        assert response.status_code == 403
        assert "Your role does not allow this." in response.content.decode()
    assert len(cards_of(tenant)) == 1


def test_the_test_card_form_adds_a_card_through_a_setup_intent(
    with_card, admin_portal, tenant, monkeypatch
):
    from subscriptions.services import payment_methods

    intents = []
    real = payment_methods.setup_intent_create
    monkeypatch.setattr(
        payment_methods, "setup_intent_create", lambda **kw: intents.append(1) or real(**kw)
    )
    page = admin_portal.get("/payment-methods/").content.decode()
    assert 'value="pm_card_visa"' in page and 'value="pm_card_chargeDeclined"' in page
    assert "js.stripe.com" not in page
    response = admin_portal.post(
        "/payment-methods/add/", {"token": "pm_card_mastercard", "set_default": "on"}
    )
    assert response.status_code == 302 and response["Location"] == "/payment-methods/"
    assert intents == [1]
    html = admin_portal.get("/payment-methods/").content.decode()
    assert "Mastercard ending in 4444 was added." in html
    cards = {card["brand"]: card for card in cards_of(tenant)}
    assert cards["mastercard"]["is_default"] and not cards["visa"]["is_default"]


def test_a_declined_card_shows_the_decline(with_card, owner_portal, tenant):
    response = owner_portal.post("/payment-methods/add/", {"token": "pm_card_chargeDeclined"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "The card was declined" in html and 'role="alert"' in html
    assert len(cards_of(tenant)) == 1


def test_an_unknown_test_card_is_a_field_error(with_card, owner_portal):
    response = owner_portal.post("/payment-methods/add/", {"token": "pm_stolen"})
    assert response.status_code == 400
    assert 'id="id_token_error"' in response.content.decode()


def test_set_default_and_remove(with_card, billing, owner_portal, tenant):  # noqa: F811 (a pytest fixture imported above)
    billing.set_card(with_card.stripe_customer_id, "pm_card_mastercard", dispatch=False)
    visa = next(card for card in cards_of(tenant) if card["brand"] == "visa")
    assert not visa["is_default"]
    html = owner_portal.post(
        f"/payment-methods/{visa['payment_method_id']}/default/", follow=True
    ).content.decode()
    assert "Visa ending in 4242 is now the default card." in html
    mastercard = next(card for card in cards_of(tenant) if card["brand"] == "mastercard")
    html = owner_portal.post(
        f"/payment-methods/{mastercard['payment_method_id']}/remove/", follow=True
    ).content.decode()
    assert "The card was removed." in html
    assert [card["brand"] for card in cards_of(tenant)] == ["visa"]


def test_the_card_paying_the_subscription_cannot_be_removed(subscribed, owner_portal, tenant):
    pm_id = next(card for card in cards_of(tenant) if card["is_default"])["payment_method_id"]
    response = owner_portal.post(f"/payment-methods/{pm_id}/remove/", follow=True)
    assert (
        "This card pays your subscription; make another card the default first."
        in response.content.decode()
    )
    assert len(cards_of(tenant)) == 1


def test_another_tenants_card_is_no_such_payment_method(
    with_card,
    billing,  # noqa: F811 (a pytest fixture imported above)
    owner_portal,
    other_tenant,
    tenant,
):
    theirs = billing.customer(other_tenant)
    pm_id = cards_of(other_tenant)[0]["payment_method_id"]
    assert theirs.stripe_customer_id
    html = owner_portal.post(f"/payment-methods/{pm_id}/remove/", follow=True).content.decode()
    assert "No such payment method." in html
    assert len(cards_of(other_tenant)) == 1


def test_against_real_stripe_the_page_uses_stripe_js_and_posts_the_pm_to_attach(
    with_card, owner_portal, settings, monkeypatch, tenant
):
    settings.STRIPE_PUBLIC_KEY = "pk_test_portal"
    monkeypatch.setattr("portal.views._stripe_test_mode", lambda: False)
    html = owner_portal.get("/payment-methods/").content.decode()
    assert '<script src="https://js.stripe.com/v3/"></script>' in html
    assert 'Stripe("pk_test_portal")' in html and "confirmCardSetup" in html and "_secret_" in html
    assert 'value="pm_card_chargeDeclined"' not in html
    response = owner_portal.post("/payment-methods/add/", {"token": "pm_card_mastercard"})
    assert response.status_code == 302
    assert {card["brand"] for card in cards_of(tenant)} == {"visa", "mastercard"}


# Invoices


@pytest.fixture
def paid_invoice(billing, tenant):  # noqa: F811 (a pytest fixture imported above)
    billing.subscribe(tenant)
    account = billing.customer(tenant, card=None)
    return billing.invoices(account.stripe_customer_id)[0]


def test_every_role_lists_and_reads_invoices(paid_invoice, owner_portal, viewer_portal):
    for client in (owner_portal, viewer_portal):
        html = client.get("/invoices/").content.decode()
        assert (
            f'href="/invoices/{paid_invoice.id}/"' in html and "$29.00" in html and "Paid" in html
        )
        detail = client.get(f"/invoices/{paid_invoice.id}/")
        assert detail.status_code == 200
        html = detail.content.decode()
        assert (
            "Pro plan" in html and "Subtotal" in html and "Amount due" in html and "$0.00" in html
        )
        assert "Pay now" not in html  # paid


def test_the_pdf_downloads(paid_invoice, viewer_portal):
    response = viewer_portal.get(f"/invoices/{paid_invoice.id}/pdf/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf" and response.content.startswith(b"%PDF")
    assert "attachment" in response["Content-Disposition"]


def test_the_pdf_is_404_while_rendering(paid_invoice, owner_portal, tenant):
    from invoicing.models import InvoiceDocument

    with tenant_context(tenant):
        InvoiceDocument.objects.filter(invoice_id=paid_invoice.id).update(status="rendering")
    assert owner_portal.get(f"/invoices/{paid_invoice.id}/pdf/").status_code == 404


def test_another_tenants_invoice_is_404(paid_invoice, portal_client_for, other_owner, other_tenant):
    client = portal_client_for(other_owner, host=OTHER_PORTAL_HOST, on_tenant=other_tenant)
    assert client.get("/invoices/").status_code == 200
    assert paid_invoice.id not in client.get("/invoices/").content.decode()
    for path in (f"/invoices/{paid_invoice.id}/", f"/invoices/{paid_invoice.id}/pdf/"):
        assert client.get(path).status_code == 404
    assert client.post(f"/invoices/{paid_invoice.id}/pay/").status_code == 404


@pytest.fixture
def overdue_invoice(billing, tenant):  # noqa: F811 (a pytest fixture imported above)
    """An open send_invoice invoice of acme, past due and marked overdue by the daily job."""
    from invoicing.services.payments import invoices_mark_overdue

    account = billing.customer(tenant)
    stripe = billing.stripe
    stripe.v1.invoice_items.create(
        params={
            "customer": account.stripe_customer_id,
            "amount": 5000,
            "currency": "usd",
            "description": "Onboarding",
        }
    )
    draft = stripe.v1.invoices.create(
        params={
            "customer": account.stripe_customer_id,
            "collection_method": "send_invoice",
            "days_until_due": 5,
            "pending_invoice_items_behavior": "include",
        }
    )
    stripe.v1.invoices.finalize_invoice(draft.id)
    billing.dispatch()
    billing.advance(tenant, days=6)
    with tenant_context(tenant):
        assert invoices_mark_overdue(tenant=tenant) == 1
    return draft


def test_overdue_banner_and_pay_now(overdue_invoice, owner_portal, viewer_portal):
    html = viewer_portal.get("/").content.decode()
    assert "An invoice is overdue." in html and 'href="/invoices/"' in html
    html = viewer_portal.get("/invoices/").content.decode()
    assert "Overdue" in html and "$50.00" in html and "Pay now" not in html
    assert viewer_portal.post(f"/invoices/{overdue_invoice.id}/pay/").status_code == 403
    assert (
        f'action="/invoices/{overdue_invoice.id}/pay/"'
        in owner_portal.get(f"/invoices/{overdue_invoice.id}/").content.decode()
    )

    response = owner_portal.post(f"/invoices/{overdue_invoice.id}/pay/")
    assert (
        response.status_code == 302 and response["Location"] == f"/invoices/{overdue_invoice.id}/"
    )
    html = owner_portal.get(response["Location"]).content.decode()
    assert "was paid." in html and "Pay now" not in html
    assert "An invoice is overdue." not in owner_portal.get("/").content.decode()

    html = owner_portal.post(f"/invoices/{overdue_invoice.id}/pay/", follow=True).content.decode()
    assert "This invoice cannot be paid: it is not open." in html


def test_pay_now_with_a_declining_card_shows_the_decline(billing, tenant, admin_portal):  # noqa: F811 (a pytest fixture imported above)
    billing.subscribe(tenant)
    account = billing.customer(tenant, card=None)
    billing.set_card(account.stripe_customer_id, "pm_card_chargeCustomerFail")
    billing.advance(tenant, days=31)
    open_invoice = next(
        i for i in billing.invoices(account.stripe_customer_id) if i.status == "open"
    )
    html = admin_portal.post(f"/invoices/{open_invoice.id}/pay/", follow=True).content.decode()
    assert "The card was declined" in html


@pytest.mark.parametrize(
    "language, words",
    [
        (
            "pt-br",
            [
                "Formas de pagamento",
                "Faturas",
                "Adicionar um cartão",
                "Cartão de teste",
                "Tornar padrão",
            ],
        ),
        (
            "es",
            [
                "Métodos de pago",
                "Facturas",
                "Agregar una tarjeta",
                "Tarjeta de prueba",
                "Hacer predeterminada",
            ],
        ),
    ],
)
def test_the_new_pages_are_translated(with_card, billing, owner_portal, language, words):  # noqa: F811 (a pytest fixture imported above)
    billing.set_card(with_card.stripe_customer_id, "pm_card_mastercard", dispatch=False)
    owner_portal.post("/i18n/setlang/", {"language": language, "next": "/"})
    html = owner_portal.get("/payment-methods/").content.decode()
    for word in words:
        assert word in html
    assert (
        "Nenhuma fatura ainda." if language == "pt-br" else "Todavía no hay facturas."
    ) in owner_portal.get("/invoices/").content.decode()
