"""The portal's payment methods page: a SEPA account after accepting the mandate, PayPal through its
approval page, labels, and the texts in en, pt-BR and es."""

import urllib.parse
import urllib.request

import pytest

pytestmark = pytest.mark.django_db


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _post_page(url, fields) -> str:
    """Post the emulator's PayPal page as the payer's browser would; the Location it sends back."""
    request = urllib.request.Request(url, data=urllib.parse.urlencode(fields).encode())
    try:
        urllib.request.build_opener(_NoRedirect).open(request)
    except urllib.error.HTTPError as exc:
        return exc.headers["Location"]
    raise AssertionError("no redirect")


def test_a_sepa_account_needs_the_mandate_and_is_listed_by_its_label(euro_plan, owner_portal):
    page = owner_portal.get("/payment-methods/")
    assert b"authorise" in page.content and b"SEPA Direct Debit" in page.content  # the mandate text
    form = {"iban": "DE89 3704 0044 0532 0130 00", "account_holder": "Acme GmbH"}
    refused = owner_portal.post("/payment-methods/sepa/", form, follow=True)
    assert "Accept the mandate to pay by SEPA Direct Debit." in refused.content.decode()
    bad = owner_portal.post(
        "/payment-methods/sepa/",
        {**form, "iban": "DE00 1234", "mandate_accepted": "on"},
        follow=True,
    )
    assert "Enter a valid IBAN" in bad.content.decode()
    done = owner_portal.post(
        "/payment-methods/sepa/", {**form, "mandate_accepted": "on"}, follow=True
    )
    text = done.content.decode()
    assert "SEPA DE89 •••• 3000 was added." in text
    assert "<td>SEPA DE89 •••• 3000</td>" in text


def test_paypal_goes_to_the_approval_page_and_comes_back_listed(catalog, owner_portal):
    started = owner_portal.post("/payment-methods/paypal/")
    assert started.status_code == 302 and "/_emulator/paypal/seti_" in started["Location"]

    back = urllib.parse.urlsplit(
        _post_page(started["Location"], {"action": "approve", "email": "jenny.rosen@example.com"})
    )
    assert back.path == "/payment-methods/paypal/return/"
    done = owner_portal.get(f"{back.path}?{back.query}", follow=True)
    assert "PayPal j•••@example.com was added." in done.content.decode()


def test_a_declined_paypal_approval_adds_nothing(catalog, owner_portal):
    started = owner_portal.post("/payment-methods/paypal/")
    setup_intent = started["Location"].rstrip("/").rsplit("/", 1)[1]
    _post_page(started["Location"], {"action": "decline"})
    done = owner_portal.get(
        f"/payment-methods/paypal/return/?setup_intent={setup_intent}&redirect_status=failed",
        follow=True,
    )
    assert "PayPal was not approved; nothing was added." in done.content.decode()


@pytest.mark.parametrize(
    ("language", "texts"),
    [
        ("en", ["Add a SEPA Direct Debit account", "Continue to PayPal", "you authorise"]),
        (
            "pt-br",
            ["Adicionar uma conta de débito direto SEPA", "Continuar no PayPal", "você autoriza"],
        ),
        ("es", ["Añadir una cuenta de adeudo directo SEPA", "Continuar a PayPal", "autorizas"]),
    ],
)
def test_the_new_texts_in_each_language(euro_plan, owner_portal, language, texts):
    owner_portal.post("/i18n/setlang/", {"language": language, "next": "/"})
    page = owner_portal.get("/payment-methods/").content.decode()
    for text in texts:
        assert text in page, text


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("en", "SEPA Direct Debit pays in euros (EUR) only, and this is billed in USD"),
        ("pt-br", "O débito direto SEPA só paga em euros (EUR), e esta cobrança é em USD"),
        ("es", "El adeudo directo SEPA solo paga en euros (EUR), y este cobro es en USD"),
    ],
)
def test_a_tenant_billed_in_usd_is_told_why_there_is_no_sepa(catalog, owner_portal, language, text):
    owner_portal.post("/i18n/setlang/", {"language": language, "next": "/"})
    page = owner_portal.get("/payment-methods/").content.decode()
    assert text in page
    assert 'name="iban"' not in page
    refused = owner_portal.post(
        "/payment-methods/sepa/",
        {"iban": "DE89370400440532013000", "account_holder": "Acme", "mandate_accepted": "on"},
        follow=True,
    ).content.decode()
    assert "SEPA DE89" not in refused
    assert {
        "en": "SEPA Direct Debit pays in euros only",
        "pt-br": "só paga em euros, e esta",
        "es": "solo paga en euros, y este",
    }[language] in refused


def test_the_plans_offered_are_in_the_tenants_currency_and_sepa_only_for_euros(
    euro_plan, owner_portal, tenant
):
    from subscriptions.services.bank_methods import sepa_debit_attach

    plans = owner_portal.get("/subscribe/").content.decode()
    assert "Starter EU" in plans and "€25.00" in plans
    assert "$29.00" not in plans  # the USD catalog is not offered to a tenant billed in euros

    sepa = sepa_debit_attach(tenant=tenant, iban="DE89370400440532013000")
    euro = owner_portal.get("/subscribe/starter-eur/").content.decode()
    assert sepa["payment_method_id"] in euro and 'name="iban"' in euro
    # Reached directly, a USD plan offers neither the SEPA account nor the IBAN form, and says why.
    usd = owner_portal.get("/subscribe/starter/").content.decode()
    assert sepa["payment_method_id"] not in usd and 'name="iban"' not in usd
    assert "SEPA Direct Debit pays in euros (EUR) only, and this is billed in USD" in usd
    assert 'href="#paypal"' in usd
