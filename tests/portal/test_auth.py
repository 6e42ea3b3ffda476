"""Signing in and out of a tenant's portal, password reset, and sessions that do not cross tenants."""

import re

import pytest
from django.core import mail

from tests.conftest import DEMO_PASSWORD
from tests.portal.conftest import OTHER_PORTAL_HOST, new_portal_client

pytestmark = pytest.mark.django_db


def test_login_page_has_the_named_inputs_and_a_csrf_token(portal_client):
    response = portal_client.get("/login/")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'name="email"' in html and 'name="password"' in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert '<label for="id_email">' in html and '<label for="id_password">' in html


def test_a_member_signs_in_and_lands_on_the_dashboard(portal_client, owner):
    response = portal_client.post(
        "/login/", {"email": "OWNER@acme.test", "password": DEMO_PASSWORD}
    )
    assert response.status_code == 302 and response["Location"] == "/"
    dashboard = portal_client.get("/")
    assert dashboard.status_code == 200
    assert (
        "Acme Corp" in dashboard.content.decode()
        and "owner@acme.test" in dashboard.content.decode()
    )


def test_login_follows_a_local_next_and_ignores_an_outside_one(portal_client, owner):
    response = portal_client.post(
        "/login/?next=/team/", {"email": owner.email, "password": DEMO_PASSWORD}
    )
    assert response["Location"] == "/team/"
    portal_client.post("/logout/")
    response = portal_client.post(
        "/login/",
        {"email": owner.email, "password": DEMO_PASSWORD, "next": "https://evil.example/steal"},
    )
    assert response["Location"] == "/"


@pytest.mark.parametrize(
    "email, password",
    [
        ("owner@acme.test", "wrong-password"),
        ("owner@globex.test", DEMO_PASSWORD),  # a real account, but not a member of acme
        ("nobody@acme.test", DEMO_PASSWORD),
    ],
)
def test_only_members_of_this_tenant_sign_in(portal_client, email, password):
    response = portal_client.post("/login/", {"email": email, "password": password})
    assert response.status_code == 400
    assert "Invalid email or password." in response.content.decode()
    assert portal_client.get("/").status_code == 302


def test_login_errors_are_shown_next_to_the_fields(portal_client):
    response = portal_client.post("/login/", {"email": "not-an-email", "password": ""})
    html = response.content.decode()
    assert response.status_code == 400
    assert re.search(r'<input[^>]*name="email"[^>]*aria-invalid="true"', html)
    assert 'id="id_password_error"' in html


def test_repeated_failures_are_throttled(portal_client, settings):
    settings.LOGIN_FAILURES_PER_EMAIL = 1
    email = "throttled-portal@acme.test"
    portal_client.post("/login/", {"email": email, "password": "wrong-password"})
    response = portal_client.post("/login/", {"email": email, "password": "wrong-password"})
    assert response.status_code == 400
    assert "Too many failed sign-ins" in response.content.decode()


def test_pages_send_strangers_to_the_login_page(portal_client):
    response = portal_client.get("/team/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/team/"


def test_a_session_of_one_tenant_is_useless_on_another_tenants_host(
    owner_portal, owner, other_tenant
):
    from tenants.models import Membership, Role

    # Even when the person belongs to both tenants, the acme session does not open globex's portal.
    Membership.objects.create(user=owner, tenant=other_tenant, role=Role.OWNER)
    assert owner_portal.get("/").status_code == 200
    response = owner_portal.get("/", HTTP_HOST=OTHER_PORTAL_HOST)
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_a_removed_member_loses_the_session_at_once(viewer_portal, viewer, tenant):
    from tenants.models import Membership

    assert viewer_portal.get("/").status_code == 200
    Membership.objects.filter(user=viewer, tenant=tenant).delete()
    assert viewer_portal.get("/").status_code == 302


def test_the_session_cookie_belongs_to_the_host_only(portal_client, owner):
    response = portal_client.post("/login/", {"email": owner.email, "password": DEMO_PASSWORD})
    cookie = response.cookies["sessionid"]
    assert (
        cookie["domain"] == ""
    )  # no Domain attribute: the browser sends it back to this host only
    assert cookie["httponly"] and cookie["samesite"] == "Lax"


def test_logout_needs_a_post_and_ends_the_session(owner_portal):
    assert owner_portal.get("/logout/").status_code == 405
    response = owner_portal.post("/logout/")
    assert response.status_code == 302 and response["Location"] == "/login/"
    assert owner_portal.get("/").status_code == 302


def test_forms_refuse_a_post_without_the_csrf_token(owner):
    client = new_portal_client(enforce_csrf_checks=True)
    response = client.post("/login/", {"email": owner.email, "password": DEMO_PASSWORD})
    assert response.status_code == 403


def test_password_reset_mails_members_of_this_tenant_only(portal_client, viewer):
    response = portal_client.post("/password-reset/", {"email": "owner@globex.test"})
    assert response.status_code == 302 and response["Location"] == "/password-reset/sent/"
    assert mail.outbox == []

    portal_client.post("/password-reset/", {"email": viewer.email})
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [viewer.email]
    assert "Acme Corp" in mail.outbox[0].subject
    link = re.search(
        r"http://acme\.localhost(/accounts/set-password/\S+/)", mail.outbox[0].body
    ).group(1)

    form_page = portal_client.get(link, follow=True)
    assert form_page.status_code == 200 and 'name="new_password1"' in form_page.content.decode()
    done = portal_client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "a-new-secret-42", "new_password2": "a-new-secret-42"},
        follow=True,
    )
    assert 'href="/login/"' in done.content.decode()
    response = portal_client.post("/login/", {"email": viewer.email, "password": "a-new-secret-42"})
    assert response.status_code == 302
