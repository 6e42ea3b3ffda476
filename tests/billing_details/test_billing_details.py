"""Billing details: validated per tax ID type (python-stdnum), on the Stripe customer, printed on the
invoice PDF as the buyer (re-rendered while unpaid); the seller's block edited by staff."""

import io

import pytest

from tests.conftest import assert_error

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("celery_eager", "media")]

URL = "/api/v1/tenants/current/billing-details"
DETAILS = {
    "legal_name": "Acme Tecnologia Ltda.",
    "emails": ["financeiro@acme.test", "ap@acme.test"],
    "address": {
        "line1": "Av. Paulista, 1000",
        "line2": "Conj. 42",
        "city": "São Paulo",
        "state": "SP",
        "postal_code": "01310-100",
        "country": "br",
    },
    "tax_ids": [{"type": "br_cnpj", "value": "11222333000181"}],
    "po_number": "PO-2026-0042",
    "locale": "pt-br",
}


def test_an_invalid_cnpj_is_a_400_with_a_field_error(catalog, owner_client):
    body = {**DETAILS, "tax_ids": [{"type": "br_cnpj", "value": "11.222.333/0001-82"}]}
    error = assert_error(owner_client.patch(URL, body, format="json"), 400, "invalid_request")
    assert "br_cnpj" in error["detail"]["tax_ids[0].value"][0]
    assert owner_client.get(URL).json()["tax_ids"] == []  # nothing saved


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("br_cpf", "390.533.447-06"),
        ("eu_vat", "DE136695970"),
        ("gb_vat", "GB980780685"),
        ("us_ein", "00-3203710"),
    ],
)
def test_invalid_tax_ids_of_other_types_are_refused(catalog, owner_client, kind, value):
    body = {"tax_ids": [{"type": kind, "value": value}]}
    error = assert_error(owner_client.patch(URL, body, format="json"), 400, "invalid_request")
    assert "tax_ids[0].value" in error["detail"]


def test_bad_shapes_are_400(catalog, owner_client):
    assert_error(
        owner_client.patch(URL, {"emails": ["not-an-email"]}, format="json"), 400, "invalid_request"
    )
    assert_error(
        owner_client.patch(URL, {"address": {"country": "Brazil"}}, format="json"),
        400,
        "invalid_request",
    )
    assert_error(
        owner_client.patch(URL, {"tax_ids": [{"type": "xx_nope", "value": "1"}]}, format="json"),
        400,
        "invalid_request",
    )
    assert_error(owner_client.patch(URL, {"nickname": "x"}, format="json"), 400, "invalid_request")


def test_a_viewer_reads_but_cannot_change(catalog, viewer_client):
    assert viewer_client.get(URL).status_code == 200
    assert viewer_client.patch(URL, {"po_number": "x"}, format="json").status_code == 403


def test_valid_details_are_on_the_stripe_customer(catalog, owner_client, tenant):
    from billing_project.stripe_gateway.client import get_client
    from subscriptions.services.customers import customer_ensure

    response = owner_client.patch(URL, DETAILS, format="json")
    assert response.status_code == 200, response.content
    saved = response.json()
    assert saved["tax_ids"] == [{"type": "br_cnpj", "value": "11.222.333/0001-81"}]
    assert saved["address"]["country"] == "BR" and saved["emails"] == DETAILS["emails"]
    assert owner_client.get(URL).json() == saved

    customer_id = customer_ensure(tenant=tenant).stripe_customer_id
    customer = get_client().v1.customers.retrieve(customer_id, params={"expand": ["tax_ids"]})
    assert customer.name == "Acme Tecnologia Ltda." and customer.email == "financeiro@acme.test"
    assert customer.address.city == "São Paulo" and customer.address.country == "BR"
    assert customer.preferred_locales == ["pt-BR"]
    assert customer.invoice_settings.custom_fields[0].value == "PO-2026-0042"
    assert [(t.type, t.value) for t in customer.tax_ids.data] == [("br_cnpj", "11.222.333/0001-81")]

    # Another tax ID replaces the first on Stripe too.
    owner_client.patch(
        URL, {"tax_ids": [{"type": "br_cpf", "value": "39053344705"}]}, format="json"
    )
    listed = get_client().v1.customers.tax_ids.list(customer_id)
    assert [(t.type, t.value) for t in listed.data] == [("br_cpf", "390.533.447-05")]


def test_patch_of_one_address_line_keeps_the_others_and_the_stripe_address(
    catalog, owner_client, tenant
):
    from billing_project.stripe_gateway.client import get_client
    from subscriptions.services.customers import customer_ensure

    assert owner_client.patch(URL, DETAILS, format="json").status_code == 200
    response = owner_client.patch(URL, {"address": {"city": "Campinas"}}, format="json")
    assert response.status_code == 200, response.content
    expected = {**DETAILS["address"], "city": "Campinas", "country": "BR"}
    assert response.json()["address"] == expected
    saved = owner_client.get(URL).json()
    assert saved["address"] == expected
    assert saved["tax_ids"] == [{"type": "br_cnpj", "value": "11.222.333/0001-81"}]
    assert saved["po_number"] == "PO-2026-0042" and saved["emails"] == DETAILS["emails"]

    customer_id = customer_ensure(tenant=tenant).stripe_customer_id
    address = get_client().v1.customers.retrieve(customer_id).address
    assert (address.line1, address.city, address.postal_code) == (
        "Av. Paulista, 1000",
        "Campinas",
        "01310-100",
    )

    # An address line given empty is cleared; the others still stay.
    owner_client.patch(URL, {"address": {"line2": ""}}, format="json")
    assert owner_client.get(URL).json()["address"] == {**expected, "line2": ""}


def test_put_replaces_everything_and_clears_what_it_leaves_out(catalog, owner_client, tenant):
    from billing_project.stripe_gateway.client import get_client
    from subscriptions.services.customers import customer_ensure

    assert owner_client.patch(URL, DETAILS, format="json").status_code == 200
    body = {
        "legal_name": "Acme GmbH",
        "emails": ["rechnung@acme.test"],
        "address": {"city": "Berlin", "country": "DE"},
    }
    response = owner_client.put(URL, body, format="json")
    assert response.status_code == 200, response.content
    assert response.json() == {
        "legal_name": "Acme GmbH",
        "emails": ["rechnung@acme.test"],
        "address": {
            "line1": "",
            "line2": "",
            "city": "Berlin",
            "state": "",
            "postal_code": "",
            "country": "DE",
        },
        "tax_ids": [],
        "po_number": "",
        "locale": tenant.locale,
    }
    assert owner_client.get(URL).json() == response.json()
    customer_id = customer_ensure(tenant=tenant).stripe_customer_id
    assert get_client().v1.customers.tax_ids.list(customer_id).data == []
    assert get_client().v1.customers.retrieve(customer_id).address.line1 in ("", None)

    # A full replacement needs the legal name and the invoice emails.
    error = assert_error(
        owner_client.put(URL, {"address": {"city": "Köln"}}, format="json"), 400, "invalid_request"
    )
    assert set(error["detail"]) == {"legal_name", "emails"}
    assert owner_client.get(URL).json()["address"]["city"] == "Berlin"
    assert owner_client.get(URL).json()["legal_name"] == "Acme GmbH"


def test_a_viewer_cannot_replace_either(catalog, viewer_client):
    body = {"legal_name": "X", "emails": ["x@acme.test"]}
    assert viewer_client.put(URL, body, format="json").status_code == 403


def _pdf_text(client, invoice_id):
    from pypdf import PdfReader

    response = client.get(f"/api/v1/invoices/{invoice_id}/pdf")
    assert response.status_code == 200, response.content
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)


def test_the_buyer_and_the_seller_are_on_the_pdf_of_an_unpaid_invoice(
    deliver, owner_client, tenant, django_capture_on_commit_callbacks
):
    from billing_details.models import SellerProfile
    from billing_details.services import seller_profile_changed
    from tests.payments.conftest import bill_in, euro_plan_create

    # A SEPA debit keeps the first invoice open (processing) long enough to change details; SEPA
    # pays euros only: a EUR plan, for a tenant billed in euros (a German address, at first).
    euro_plan_create()
    bill_in(tenant, "DE")
    added = owner_client.post(
        "/api/v1/payment-methods",
        {"type": "sepa_debit", "iban": "AT611904300234573201"},
        format="json",
    )
    assert added.status_code == 201, added.content
    sub = owner_client.post(
        "/api/v1/subscriptions", {"plan_id": "starter-eur"}, format="json"
    ).json()
    deliver()
    invoice_id = sub["latest_invoice_id"]
    assert "Acme Tecnologia" not in _pdf_text(owner_client, invoice_id)

    with django_capture_on_commit_callbacks(execute=True):
        assert owner_client.patch(URL, DETAILS, format="json").status_code == 200
    text = _pdf_text(owner_client, invoice_id)
    assert "Acme Tecnologia Ltda." in text
    assert "11.222.333/0001-81" in text and "PO-2026-0042" in text
    assert "São Paulo" in text
    assert "Fatura" in text  # the invoice language chosen in the billing details

    profile = SellerProfile.objects.create(
        legal_name="Plataforma Exemplo S.A.", tax_id="DE136695976", address="Berlin"
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert seller_profile_changed(profile=profile) == 1
    text = _pdf_text(owner_client, invoice_id)
    assert "Plataforma Exemplo S.A." in text and "DE136695976" in text


@pytest.mark.parametrize(
    ("language", "heading"),
    [("en", "Billing details"), ("pt-br", "Dados de cobrança"), ("es", "Datos de facturación")],
)
def test_the_portal_page_in_each_language(catalog, owner_portal, language, heading):
    owner_portal.post("/i18n/setlang/", {"language": language, "next": "/"})
    page = owner_portal.get("/billing-details/")
    assert page.status_code == 200
    assert heading in page.content.decode()


def test_the_portal_form_shows_the_tax_id_error_and_saves_valid_details(catalog, owner_portal):
    form = {
        "legal_name": "Acme GmbH",
        "emails": "ap@acme.test",
        "line1": "Unter den Linden 1",
        "postal_code": "10117",
        "city": "Berlin",
        "country": "DE",
        "tax_id_type_0": "eu_vat",
        "tax_id_value_0": "DE136695970",
        "locale": "en",
    }
    page = owner_portal.post("/billing-details/", form)
    assert page.status_code == 400
    assert "not a valid eu_vat number" in page.content.decode()
    form["tax_id_value_0"] = "DE136695976"
    done = owner_portal.post("/billing-details/", form, follow=True)
    assert "Your billing details were saved." in done.content.decode()
    assert 'value="DE136695976"' in done.content.decode()


def test_a_viewer_sees_the_details_without_a_form(catalog, viewer_portal):
    page = viewer_portal.get("/billing-details/")
    assert page.status_code == 200 and b'<form method="post" novalidate>' not in page.content
