"""Dashboard, team and API key pages: who may see and change what, and the errors they show."""

import re

import pytest
from django.core import mail

from tenants.models import ApiKey, AuditEvent, Membership, Role

pytestmark = pytest.mark.django_db


def test_every_role_reads_the_dashboard(owner_portal, admin_portal, viewer_portal):
    for client, role in [
        (owner_portal, "Owner"),
        (admin_portal, "Billing admin"),
        (viewer_portal, "Viewer"),
    ]:
        response = client.get("/")
        assert response.status_code == 200
        assert f"({role})" in response.content.decode()


def test_the_dashboard_warns_when_payment_is_past_due(owner_portal, monkeypatch):
    assert "Your payment is past due." not in owner_portal.get("/").content.decode()
    monkeypatch.setattr("tenants.selectors.tenant_billing_status", lambda *, tenant: "past_due")
    assert "Your payment is past due." in owner_portal.get("/").content.decode()


def test_the_dashboard_shows_the_free_plan_and_its_limits_without_a_subscription(owner_portal):
    html = owner_portal.get("/").content.decode()
    assert "<dd>Free</dd>" in html and "<dd>No subscription</dd>" in html
    assert re.search(
        r'<meter id="usage-\d+" min="0" max="1000" value="0"', html
    )  # api_calls: 1000 on Free
    assert "0 of 1,000" in html


def test_the_dashboard_shows_a_trial_and_the_plan_it_gives(owner_portal, tenant):
    from datetime import timedelta

    from django.utils import timezone

    from subscriptions.models import BillingAccount, Plan

    trial_end = timezone.now() + timedelta(days=10)
    BillingAccount.objects.update_or_create(
        tenant=tenant,
        defaults={
            "subscription_id": "sub_portal_test",
            "status": "trialing",
            "plan": Plan.objects.get(code="starter"),
            "billing_cycle": "monthly",
            "trial_end": trial_end,
            "current_period_end": trial_end,
        },
    )
    html = owner_portal.get("/").content.decode()
    assert "<dd>Starter</dd>" in html and "<dd>Trial</dd>" in html
    assert "Trial ends" in html
    assert "0 of 10,000" in html  # api_calls on Starter


def test_only_owners_see_team_and_api_keys_in_the_menu(owner_portal, admin_portal):
    assert 'href="/team/"' in owner_portal.get("/").content.decode()
    html = admin_portal.get("/").content.decode()
    assert 'href="/team/"' not in html and 'href="/api-keys/"' not in html


@pytest.mark.parametrize("path", ["/team/", "/api-keys/"])
def test_team_and_api_keys_are_for_owners_only(admin_portal, viewer_portal, path):
    for client in (admin_portal, viewer_portal):
        response = client.get(path)
        assert response.status_code == 403
        assert "Your role does not allow this." in response.content.decode()


def test_a_billing_admin_cannot_invite_or_create_keys(admin_portal, tenant):
    assert (
        admin_portal.post("/team/", {"email": "sneaky@acme.test", "role": "owner"}).status_code
        == 403
    )
    assert admin_portal.post("/api-keys/", {"name": "sneaky", "role": "owner"}).status_code == 403
    assert not Membership.objects.filter(tenant=tenant, user__email="sneaky@acme.test").exists()
    assert not ApiKey.objects.filter(tenant=tenant, name="sneaky").exists()


def test_the_team_page_lists_the_members(owner_portal):
    html = owner_portal.get("/team/").content.decode()
    for email in ("owner@acme.test", "admin@acme.test", "viewer@acme.test"):
        assert email in html
    assert "owner@globex.test" not in html


def test_an_owner_invites_a_member_who_gets_an_email(
    owner_portal, tenant, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_portal.post(
            "/team/", {"email": "new.person@acme.test", "role": "billing_admin"}
        )
    assert response.status_code == 302
    membership = Membership.objects.get(tenant=tenant, user__email="new.person@acme.test")
    assert membership.role == Role.BILLING_ADMIN
    assert (
        mail.outbox[0].to == ["new.person@acme.test"]
        and "/accounts/set-password/" in mail.outbox[0].body
    )
    assert (
        "new.person@acme.test was added to the team." in owner_portal.get("/team/").content.decode()
    )


def test_inviting_shows_field_and_form_errors(owner_portal):
    response = owner_portal.post("/team/", {"email": "not-an-email", "role": "emperor"})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="id_email_error"' in html and 'id="id_role_error"' in html

    response = owner_portal.post("/team/", {"email": "viewer@acme.test", "role": "viewer"})
    assert response.status_code == 400
    assert "This person is already a member." in response.content.decode()


def test_an_owner_removes_a_member(owner_portal, viewer, tenant):
    membership = Membership.objects.get(user=viewer, tenant=tenant)
    response = owner_portal.post(f"/team/{membership.id}/remove/", follow=True)
    assert "viewer@acme.test was removed from the team." in response.content.decode()
    assert not Membership.objects.filter(id=membership.id).exists()
    assert AuditEvent.objects.filter(
        tenant=tenant, action="membership.remove", target=viewer.email
    ).exists()


def test_the_last_owner_stays(owner_portal, owner, tenant):
    membership = Membership.objects.get(user=owner, tenant=tenant)
    response = owner_portal.post(f"/team/{membership.id}/remove/", follow=True)
    assert "The last owner cannot be removed." in response.content.decode()
    assert Membership.objects.filter(id=membership.id).exists()


def test_a_member_of_another_tenant_cannot_be_removed_from_here(
    owner_portal, other_owner, other_tenant
):
    membership = Membership.objects.get(user=other_owner, tenant=other_tenant)
    response = owner_portal.post(f"/team/{membership.id}/remove/", follow=True)
    assert "No such member." in response.content.decode()
    assert Membership.objects.filter(id=membership.id).exists()


def test_a_new_api_key_is_shown_once(owner_portal, tenant):
    from tenants.selectors import api_key_get_by_secret

    response = owner_portal.post("/api-keys/", {"name": "CI", "role": "ingest"})
    assert response.status_code == 302 and response["Location"] == "/api-keys/"
    page = owner_portal.get("/api-keys/")
    assert "no-store" in page["Cache-Control"]
    api_key = ApiKey.objects.get(tenant=tenant, name="CI")
    secret = page.context["created"]["secret"]
    assert f'value="{secret}"' in page.content.decode()
    assert api_key_get_by_secret(secret=secret) == api_key and api_key.role == "ingest"
    html = owner_portal.get("/api-keys/").content.decode()
    assert "CI" in html and f"bk_{api_key.prefix}_" in html and secret not in html


def test_creating_a_key_without_a_name_is_an_error(owner_portal):
    response = owner_portal.post("/api-keys/", {"name": "", "role": "viewer"})
    assert response.status_code == 400
    assert 'id="id_name_error"' in response.content.decode()


def test_an_owner_revokes_a_key(owner_portal, tenant, owner):
    from tenants.selectors import api_key_get_by_secret
    from tenants.services import api_key_create

    api_key, secret = api_key_create(tenant=tenant, name="old", role="viewer", created_by=owner)
    response = owner_portal.post(f"/api-keys/{api_key.id}/revoke/", follow=True)
    assert "The key old was revoked." in response.content.decode()
    assert api_key_get_by_secret(secret=secret) is None


def test_a_key_of_another_tenant_cannot_be_revoked_from_here(
    owner_portal, other_tenant, other_owner
):
    from tenants.services import api_key_create

    api_key, _ = api_key_create(
        tenant=other_tenant, name="theirs", role="viewer", created_by=other_owner
    )
    response = owner_portal.post(f"/api-keys/{api_key.id}/revoke/", follow=True)
    assert "No such API key." in response.content.decode()
    api_key.refresh_from_db()
    assert api_key.revoked_at is None
