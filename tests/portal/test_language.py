"""Languages: the tenant's locale by default, the visitor's choice through Django's set_language."""

import pytest

from tests.portal.conftest import OTHER_PORTAL_HOST, new_portal_client

pytestmark = pytest.mark.django_db


def test_the_tenants_locale_is_the_default_language(owner_portal):
    acme = new_portal_client().get("/login/", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert '<html lang="en">' in acme and "Sign in" in acme
    globex = new_portal_client(OTHER_PORTAL_HOST).get("/login/").content.decode()
    assert '<html lang="pt-br">' in globex and "Entrar" in globex


@pytest.mark.parametrize(
    "language, html_lang, words",
    [
        ("pt-br", "pt-br", ["Painel", "Equipe", "Chaves de API", "Sair"]),
        ("es", "es", ["Panel", "Equipo", "Claves de API", "Cerrar sesión"]),
    ],
)
def test_a_member_switches_the_language(owner_portal, language, html_lang, words):
    response = owner_portal.post("/i18n/setlang/", {"language": language, "next": "/team/"})
    assert response.status_code == 302 and response["Location"] == "/team/"
    html = owner_portal.get("/team/").content.decode()
    assert f'<html lang="{html_lang}">' in html
    for word in words:
        assert word in html
    assert f'<option value="{language}" lang="{language}" selected>' in html


def test_the_language_choice_stays_on_its_host(owner_portal):
    owner_portal.post("/i18n/setlang/", {"language": "es", "next": "/"})
    assert owner_portal.cookies["django_language"]["domain"] == ""
