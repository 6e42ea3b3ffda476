"""Feature entitlements: the seed's feature lists map to keys, the API lists the effective plan's
features (named in en, pt-BR, es) beside its limits, and the check answers from the cached
entitlements and follows an upgrade on the next request."""

import pytest

from entitlements.selectors import features_forget
from subscriptions.models import Plan
from tests.conftest import assert_error
from tests.subscriptions.conftest import subscribe

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _features_fresh():
    features_forget()
    yield
    features_forget()


def test_the_seed_plans_features_map_to_keys():
    keys = {plan.code: plan.feature_keys for plan in Plan.objects.all()}
    assert keys["free"] == ["basic_features", "community_support"]
    assert keys["starter"] == ["basic_features", "community_support", "email_support"]
    assert keys["professional"][-1] == "priority_support" and "sso" not in keys["professional"]
    assert {"priority_support", "support_24_7", "sso"} <= set(keys["enterprise"])


def test_entitlements_list_features_and_limits(owner_client):
    body = owner_client.get("/api/v1/entitlements", HTTP_ACCEPT_LANGUAGE="es").json()
    assert body["plan_id"] == "free"
    features = {f["key"]: f for f in body["features"]}
    assert features["community_support"]["enabled"] is True
    assert features["sso"]["enabled"] is False
    assert features["sso"]["names"] == {
        "en": "Single sign-on (SSO)",
        "pt-br": "Login único (SSO)",
        "es": "Inicio de sesión único (SSO)",
    }
    assert body["limits"]["api_calls"] == str(Plan.objects.get(code="free").limits["api_calls"])


def test_feature_check_follows_an_upgrade(
    catalog, owner_client, tenant, django_capture_on_commit_callbacks
):
    def check(key):
        response = owner_client.get(f"/api/v1/entitlements/check?feature={key}")
        assert response.status_code == 200, response.content
        return response.json()

    with django_capture_on_commit_callbacks(execute=True):
        subscribe(owner_client, plan_id="starter", payment_method="pm_card_visa")
    assert check("priority_support") == {
        "feature": "priority_support",
        "allowed": False,
        "plan_id": "starter",
    }
    with django_capture_on_commit_callbacks(execute=True):
        changed = owner_client.put(
            "/api/v1/subscriptions/current", {"plan_id": "professional"}, format="json"
        )
    assert changed.status_code == 200, changed.content
    assert check("priority_support")["allowed"] is True  # the next request
    assert check("sso")["allowed"] is False
    assert_error(
        owner_client.get("/api/v1/entitlements/check?feature=teleport"), 400, "unknown_feature"
    )
    # The resource form still answers as before.
    resource = owner_client.get("/api/v1/entitlements/check?resource=api_calls").json()
    assert set(resource) >= {"allowed", "used", "limit", "remaining"}


def test_an_ingest_key_may_check_features(tenant):
    from tenants.services import api_key_create
    from tests.conftest import new_client

    _, secret = api_key_create(tenant=tenant, name="collector", role="ingest")
    client = new_client()
    client.credentials(HTTP_X_API_KEY=secret)
    assert client.get("/api/v1/entitlements/check?feature=sso").json()["allowed"] is False
    assert client.get("/api/v1/entitlements").status_code == 200


def test_the_dashboard_shows_the_features_in_the_members_language(owner, tenant):
    from tests.portal.conftest import new_portal_client, sign_in

    portal = sign_in(new_portal_client(), owner, tenant)
    page = portal.get("/").content.decode()
    assert 'data-testid="plan-features"' in page and "Community support" in page
    portal.post("/i18n/setlang/", {"language": "pt-br", "next": "/"})
    assert "Suporte da comunidade" in portal.get("/").content.decode()
    portal.post("/i18n/setlang/", {"language": "es", "next": "/"})
    assert "Soporte de la comunidad" in portal.get("/").content.decode()


def test_a_feature_no_plan_grants_is_the_only_one_deleted(django_user_model):
    """Deleting a key that plans still grant would silently take the feature away from their
    tenants (as renaming would): its delete page is refused, to a superuser too (finance adds and
    edits features, never deletes them); an unused one goes."""
    from django.test import Client

    from entitlements.models import Feature

    admin_client = Client()
    admin_client.force_login(
        django_user_model.objects.create_superuser(
            email="root@platform.test", password="correct-horse-9"
        )
    )
    granted_key = Plan.objects.get(code="starter").feature_keys[0]
    granted = Feature.objects.get(key=granted_key)
    spare = Feature.objects.create(
        key="beta_access", name_en="Beta", name_pt_br="Beta", name_es="Beta"
    )
    url = "/admin/entitlements/feature/"
    assert admin_client.get(f"{url}{granted.pk}/delete/").status_code == 403
    assert 'value="delete_selected"' not in admin_client.get(url).content.decode()
    response = admin_client.post(f"{url}{spare.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Feature.objects.filter(pk=spare.pk).exists()
    assert Feature.objects.filter(pk=granted.pk).exists()
