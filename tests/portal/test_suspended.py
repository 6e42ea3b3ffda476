"""A tenant suspended for non-payment: its members still sign in, see why, and can only pay
(invoices, payment methods); a closed tenant's members cannot sign in at all."""

import pytest

from tenants.models import Tenant
from tests.conftest import DEMO_PASSWORD
from tests.portal.conftest import new_portal_client

pytestmark = pytest.mark.django_db

SUSPENDED_BANNER = "This organisation is suspended."


def set_status(tenant, status):
    Tenant.objects.filter(pk=tenant.pk).update(status=status)
    tenant.refresh_from_db()


def sign_in_with_password(email):
    client = new_portal_client()
    response = client.post("/login/", {"email": email, "password": DEMO_PASSWORD})
    return client, response


def test_a_member_of_a_suspended_tenant_signs_in_and_lands_on_the_invoices(tenant):
    set_status(tenant, Tenant.Status.SUSPENDED)
    client, response = sign_in_with_password("viewer@acme.test")
    assert response.status_code == 302 and response["Location"] == "/"
    response = client.get("/", follow=True)
    assert response.redirect_chain == [("/invoices/", 302)]
    html = response.content.decode()
    assert SUSPENDED_BANNER in html
    assert 'href="/payment-methods/"' in html and 'href="/invoices/"' in html
    assert 'href="/plans/"' not in html and 'href="/coupon/"' not in html


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/plans/",
        "/coupon/",
        "/notifications/",
        "/team/",
        "/api-keys/",
        "/plans/professional/change/",
    ],
)
def test_while_suspended_the_other_pages_redirect_to_the_invoices(owner_portal, tenant, path):
    set_status(tenant, Tenant.Status.SUSPENDED)
    response = owner_portal.get(path)
    assert response.status_code == 302 and response["Location"] == "/invoices/"
    assert owner_portal.post(path, {})["Location"] == "/invoices/"  # no change goes through either


def test_while_suspended_the_payment_pages_open_with_the_banner(owner_portal, tenant, monkeypatch):
    monkeypatch.setattr(
        "subscriptions.services.payment_methods.payment_method_list", lambda *, tenant: []
    )
    set_status(tenant, Tenant.Status.SUSPENDED)
    for path in ("/invoices/", "/payment-methods/"):
        response = owner_portal.get(path)
        assert response.status_code == 200
        assert SUSPENDED_BANNER in response.content.decode()
    set_status(tenant, Tenant.Status.ACTIVE)
    assert SUSPENDED_BANNER not in owner_portal.get("/invoices/").content.decode()


def test_the_roles_still_apply_while_suspended(viewer_portal, tenant):
    set_status(tenant, Tenant.Status.SUSPENDED)
    response = viewer_portal.post("/payment-methods/add/", {"token": "pm_card_visa"})
    assert response.status_code == 403


def test_a_closed_tenants_members_cannot_sign_in(tenant):
    set_status(tenant, Tenant.Status.CLOSED)
    _, response = sign_in_with_password("owner@acme.test")
    assert response.status_code == 400
    assert "Invalid email or password." in response.content.decode()


def test_the_suspension_banner_is_translated(owner_portal, tenant):
    set_status(tenant, Tenant.Status.SUSPENDED)
    owner_portal.post("/i18n/setlang/", {"language": "pt-br", "next": "/invoices/"})
    assert "Esta organização está suspensa." in owner_portal.get("/invoices/").content.decode()
