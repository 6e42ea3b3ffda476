"""Tenant isolation matrix, generated from the URL configurations.

Tenant A (acme) gets one or more objects of every tenant-owned kind; every credential of tenant B
(globex) -- owner, billing admin, viewer, API key, ingest key, platform staff and a platform key acting
through `X-Tenant-ID: globex`, B's owner naming A in `X-Tenant-ID`, B's portal sessions on B's host and
B's session cookie replayed on A's host -- then asks for each of A's objects through every route that
takes an id, with GET and every mutating method the route has. Each answer must be 403/404 (405 for a
method the view does not have; a portal action may redirect back with an error message) and carry none
of A's data; afterwards A's objects must be exactly as they were. Every list page (each route without
an id that answers GET) must show B none of A's ids.

The routes come from `get_resolver()` of both urlconfs, so a new route is covered by itself: a route
whose id parameter is neither mapped to an object kind (PARAM_KINDS) nor skipped with a reason
(SKIPPED_ROUTES) fails `test_every_id_route_is_mapped_or_skipped`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from django.urls import URLResolver, get_resolver

from tests.conftest import DEMO_PASSWORD, new_client, token_for
from tests.invoicing.conftest import billing, celery_eager, media, stripe_on  # noqa: F401  (Stripe world)
from tests.portal.conftest import OTHER_PORTAL_HOST, PORTAL_HOST, new_portal_client, sign_in

URLCONFS = {"api": "billing_project.urls", "portal": "billing_project.urls_tenant"}

# The path parameter names that carry a tenant-owned object's id -> the kind of object.
PARAM_KINDS = {
    "invoice_id": "invoice",
    "payment_method_id": "payment_method",
    "refund_id": "refund",
    "credit_note_id": "credit_note",
    "api_key_id": "api_key",
    "notification_id": "notification",
    "membership_id": "membership",
    "event_id": "webhook_event",
    "subscription_id": "subscription",
    "endpoint_id": "webhook_endpoint",
    "delivery_id": "webhook_delivery",
}

# Routes that take an id naming no tenant-owned object, by the route's text as the resolver prints it.
SKIPPED_PREFIXES = {
    "admin/": "Django admin: the platform's back-office, for is_staff sessions only; staff see every "
    "tenant by design. Tenant people are kept out by test_admin_is_closed_to_tenant_people.",
}
SKIPPED_ROUTES = {
    "stripe/webhook/<uuid:uuid>/": "dj-stripe's webhook endpoint: authenticated by Stripe's signature; the "
    "uuid names a webhook endpoint configuration, not a tenant's object.",
    "accounts/set-password/<uidb64>/<token>/": "password set/reset confirmation: the signed one-time token is the "
    "credential and names a user, not a tenant's object.",
    "plans/<slug:plan_id>/change/": "plans are the public catalog (GET /api/v1/plans needs no credential); the "
    "change acts on the session's own tenant only.",
    "subscribe/<slug:plan_id>/": "plans are the public catalog; subscribing acts on the session's own "
    "tenant only.",
    "invoice-pdf/<str:token>/": "a billing contact's no-login invoice link: the signed, expiring token "
    "is the credential and names the tenant and the invoice; another tenant's host answers 404 "
    "(tests/notifications/test_billing_contact_invoices.py).",
    "api/v1/plans/<str:plan_id>": "one plan of the public catalog (GET /api/v1/plans needs no "
    "credential); it names no tenant's object.",
}

# Bodies that pass a view's input validation, so the request reaches the ownership check (a 400 for
# a missing field would hide whether the lookup is scoped).
BODIES = {
    "refunds": {"reason": "isolation probe"},
    "credit-notes": {"amount": "1.00", "reason": "isolation probe"},
    "replay": {"since": "2020-01-01T00:00:00Z"},
}

MUTATING = ("post", "put", "patch", "delete")


@dataclass(frozen=True)
class Route:
    surface: str  # "api" (public host) or "portal" (a tenant's host)
    template: str
    params: tuple[str, ...]
    view_methods: (
        tuple[str, ...] | None
    )  # None: a function view (methods unknown: GET and POST tried)

    def url(self, **values) -> str:
        return "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]), self.template)

    @property
    def skip_reason(self) -> str | None:
        for prefix, reason in SKIPPED_PREFIXES.items():
            if self.template.startswith(prefix):
                return reason
        return SKIPPED_ROUTES.get(self.template)


def _params(pattern) -> tuple[str, ...]:
    converters = getattr(pattern, "converters", None)
    if converters is not None:  # RoutePattern: <conv:name>
        return tuple(converters)
    return tuple(pattern.regex.groupindex)  # RegexPattern: (?P<name>...)


def _view_methods(callback) -> tuple[str, ...] | None:
    cls = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    if cls is None:
        return None
    return tuple(m for m in ("get",) + MUTATING if hasattr(cls, m))


def _walk(patterns, surface, prefix="", params=()):
    for entry in patterns:
        text, names = prefix + str(entry.pattern), params + _params(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, surface, text, names)
        else:
            yield Route(surface, text, names, _view_methods(entry.callback))


def all_routes() -> list[Route]:
    return [
        route
        for surface, urlconf in URLCONFS.items()
        for route in _walk(get_resolver(urlconf).url_patterns, surface)
    ]


def id_routes() -> list[Route]:
    return [r for r in all_routes() if r.params and r.skip_reason is None]


def list_routes() -> list[Route]:
    """Routes without parameters that answer GET (or may: function views)."""
    return [
        r
        for r in all_routes()
        if not r.params
        and r.skip_reason is None
        and "^" not in r.template
        and (r.view_methods is None or "get" in r.view_methods)
    ]


def test_every_id_route_is_mapped_or_skipped():
    """A new route taking an id must be added to the matrix (PARAM_KINDS) or skipped with a reason."""
    unmapped = [
        f"{r.surface}: /{r.template} ({', '.join(p for p in r.params if p not in PARAM_KINDS)})"
        for r in id_routes()
        if any(p not in PARAM_KINDS for p in r.params)
    ]
    assert not unmapped, (
        "routes with an id parameter that the isolation matrix does not know; map the "
        "parameter to an object kind in PARAM_KINDS (and create one in acme_world) or add "
        "the route to SKIPPED_ROUTES with the reason:\n" + "\n".join(unmapped)
    )
    # The matrix is not vacuous: the id routes known today are all there.
    templates = {r.template for r in id_routes()}
    assert {
        "api/v1/invoices/<str:invoice_id>",
        "api/v1/refunds/<str:refund_id>/approve",
        "invoices/<str:invoice_id>/pdf/",
        "team/<int:membership_id>/remove/",
    } <= templates


# --- tenant A's world -------------------------------------------------------------------------------


@dataclass
class World:
    objects: dict[str, list[str]]  # kind -> A's ids of that kind
    private: list[str]  # strings that only A's data contains (ids, emails, names of A's things)
    public_names: list[
        str
    ]  # A's name: private on other hosts, public on A's own host (its login page)


@pytest.fixture
def acme_world(billing, tenant, owner, viewer, billing_admin, client_for, stripe_client):  # noqa: F811
    from invoicing.selectors import invoice_queryset
    from notifications.services import notification_test_send
    from subscriptions.models import BillingAccount
    from tenants.models import Membership
    from tenants.services import api_key_create

    subscription = billing.subscribe(tenant, amount=90_000)  # a paid 900.00 invoice
    account = BillingAccount.objects.get(tenant=tenant)
    customer = account.stripe_customer_id
    # A second card, not the default.
    second_pm = stripe_client.v1.payment_methods.attach(
        "pm_card_mastercard", params={"customer": customer}
    )
    # An open (send_invoice) invoice, for the pay and credit-note routes.
    stripe_client.v1.invoice_items.create(
        params={"customer": customer, "amount": 12_000, "currency": "usd", "description": "Setup"}
    )
    draft = stripe_client.v1.invoices.create(
        params={
            "customer": customer,
            "collection_method": "send_invoice",
            "days_until_due": 10,
            "pending_invoice_items_behavior": "include",
        }
    )
    stripe_client.v1.invoices.finalize_invoice(draft.id)
    billing.dispatch()
    invoices = list(invoice_queryset(tenant=tenant).values_list("id", flat=True))
    assert draft.id in invoices and len(invoices) == 2, invoices
    paid = next(i for i in invoices if i != draft.id)

    finance = client_for(_user("finance@platform.test"), HTTP_X_TENANT_ID="acme")
    refund = finance.post(
        f"/api/v1/invoices/{paid}/refunds",
        {"amount": "600.00", "reason": "acme-refund"},
        format="json",
    )
    assert refund.status_code == 201 and refund.json()["status"] == "pending_approval", (
        refund.content
    )
    note = finance.post(
        f"/api/v1/invoices/{draft.id}/credit-notes",
        {"amount": "20.00", "reason": "acme-note"},
        format="json",
    )
    assert note.status_code == 201, note.content

    owner_key, owner_secret = api_key_create(
        tenant=tenant, name="acme-isolation-owner-key", role="owner"
    )
    ingest_key, ingest_secret = api_key_create(
        tenant=tenant, name="acme-isolation-ingest-key", role="ingest"
    )
    notification = notification_test_send(tenant=tenant, channels=["in_app"])
    from webhooks.services import endpoint_create, endpoint_send_test

    endpoint, endpoint_secret = endpoint_create(
        tenant=tenant, actor="test", url="https://acme-isolation.example.com/hooks"
    )
    webhook_delivery = endpoint_send_test(
        tenant=tenant, actor="test", endpoint_id=endpoint.endpoint_id
    )

    ingest = new_client()
    ingest.credentials(HTTP_X_API_KEY=ingest_secret)
    from django.utils import timezone

    now = timezone.now().isoformat()
    event = ingest.post(
        "/api/v1/usage",
        {
            "resource_type": "api_calls",
            "quantity": "7",
            "unit": "requests",
            "period_start": now,
            "period_end": now,
            "source": "acme-isolation-source",
        },
        format="json",
    )
    assert event.status_code == 201, event.content

    memberships = list(Membership.objects.filter(tenant=tenant).values_list("id", flat=True))
    pms = [
        pm.id for pm in stripe_client.v1.payment_methods.list(params={"customer": customer}).data
    ]
    assert second_pm.id in pms and len(pms) == 2
    objects = {
        "invoice": invoices,
        "payment_method": pms,
        "refund": [refund.json()["refund_id"]],
        "credit_note": [note.json()["credit_note_id"]],
        "api_key": [str(owner_key.id), str(ingest_key.id)],
        "notification": [str(notification.pk)],
        "membership": [str(m) for m in memberships],
        "usage_event": [event.json()["event_id"]],
        "subscription": [subscription.id],
        "webhook_endpoint": [endpoint.endpoint_id],
        "webhook_event": [webhook_delivery.event.event_id],
        "webhook_delivery": [webhook_delivery.delivery_id],
    }
    # Integer ids (notifications, memberships) are not searched for in bodies: "7" is everywhere.
    private = [
        i
        for kind, ids in objects.items()
        if kind not in ("notification", "membership")
        for i in ids
    ]
    private += [
        customer,
        tenant.tenant_id,
        owner_key.prefix,
        ingest_key.prefix,
        owner_secret,
        ingest_secret,
        "acme-isolation-owner-key",
        "acme-isolation-source",
        "acme-refund",
        "acme-note",
        "acme-isolation.example.com",
        endpoint_secret,
        owner.email,
        viewer.email,
        billing_admin.email,
        tenant.email,
    ]
    assert all(private), [(n, s) for n, s in enumerate(private) if not s]
    return World(objects=objects, private=private, public_names=[tenant.name])


def _user(email):
    from tenants.models import User

    return User.objects.get(email=email)


def acme_state(tenant, stripe_client, world: World) -> dict:
    """What a successful foreign mutation would change: A's audit trail, keys, team, notifications,
    refunds, credit notes, invoices and cards."""
    from django_tenants.utils import tenant_context

    from invoicing.models import CreditNote, Refund
    from notifications.models import Notification
    from subscriptions.models import BillingAccount
    from tenants.models import ApiKey, AuditEvent, Membership

    customer = BillingAccount.objects.get(tenant=tenant).stripe_customer_id
    with tenant_context(tenant):
        local = {
            "refunds": sorted(Refund.objects.values_list("id", "status")),
            "credit_notes": CreditNote.objects.count(),
            "unread": sorted(
                Notification.objects.filter(read_at__isnull=True).values_list("pk", flat=True)
            ),
        }
    return {
        **local,
        "audit": AuditEvent.objects.filter(tenant=tenant).count(),
        "keys": sorted(
            (str(k), r is None)
            for k, r in ApiKey.objects.filter(tenant=tenant).values_list("id", "revoked_at")
        ),
        "members": sorted(Membership.objects.filter(tenant=tenant).values_list("id", "role")),
        "invoices": sorted(
            (i, stripe_client.v1.invoices.retrieve(i).status) for i in world.objects["invoice"]
        ),
        "cards": sorted(
            pm.id
            for pm in stripe_client.v1.payment_methods.list(params={"customer": customer}).data
        ),
        "default_card": stripe_client.v1.customers.retrieve(
            customer
        ).invoice_settings.default_payment_method,
    }


# --- tenant B's credentials --------------------------------------------------------------------------


@dataclass(frozen=True)
class Credential:
    name: str
    surface: str  # which routes it is used on
    client: object
    host: str | None = None  # portal: the host it talks to
    staff: bool = False


@pytest.fixture
def globex_credentials(other_tenant, other_owner, client_for):
    from tenants.services import api_key_create, membership_create

    viewer = membership_create(
        tenant=other_tenant, email="viewer@globex.test", role="viewer", password=DEMO_PASSWORD
    ).user
    admin = membership_create(
        tenant=other_tenant, email="admin@globex.test", role="billing_admin", password=DEMO_PASSWORD
    ).user

    def key_client(tenant, role):
        _, secret = api_key_create(tenant=tenant, name=f"globex-{role}", role=role)
        client = new_client()
        client.credentials(
            HTTP_AUTHORIZATION=f"Bearer {secret}", HTTP_X_TENANT_ID="globex"
        ) if tenant is None else client.credentials(HTTP_X_API_KEY=secret)
        return client

    hop = new_client()  # B's owner naming A: the credential's tenant wins (403), never A's schema
    hop.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(other_owner)}", HTTP_X_TENANT_ID="acme")
    creds = [
        Credential("owner (JWT)", "api", client_for(other_owner)),
        Credential("billing admin (JWT)", "api", client_for(admin)),
        Credential("viewer (JWT)", "api", client_for(viewer)),
        Credential("API key (owner role)", "api", key_client(other_tenant, "owner")),
        Credential("ingest key", "api", key_client(other_tenant, "ingest")),
        Credential(
            "finance staff, X-Tenant-ID: globex",
            "api",
            client_for(_user("finance@platform.test"), HTTP_X_TENANT_ID="globex"),
            staff=True,
        ),
        Credential(
            "support staff, X-Tenant-ID: globex",
            "api",
            client_for(_user("support@platform.test"), HTTP_X_TENANT_ID=other_tenant.tenant_id),
            staff=True,
        ),
        Credential(
            "platform key, X-Tenant-ID: globex", "api", key_client(None, "platform"), staff=True
        ),
        Credential("owner naming acme in X-Tenant-ID", "api", hop),
        Credential(
            "owner session on globex host",
            "portal",
            sign_in(new_portal_client(OTHER_PORTAL_HOST), other_owner, other_tenant),
            OTHER_PORTAL_HOST,
        ),
        Credential(
            "viewer session on globex host",
            "portal",
            sign_in(new_portal_client(OTHER_PORTAL_HOST), viewer, other_tenant),
            OTHER_PORTAL_HOST,
        ),
        Credential(
            "globex owner's session replayed on acme host",
            "portal",
            sign_in(new_portal_client(PORTAL_HOST), other_owner, other_tenant),
            PORTAL_HOST,
        ),
    ]
    return creds


def _request(cred: Credential, method: str, url: str, body: dict | None):
    if cred.surface == "api":
        return (
            getattr(cred.client, method)(url, body if body is not None else None, format="json")
            if method != "get"
            else cred.client.get(url)
        )
    return (
        getattr(cred.client, method)(url, body or {}) if method != "get" else cred.client.get(url)
    )


def _text(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode("utf-8", "replace")
    return response.content.decode("utf-8", "replace")


def _leaks(world: World, cred: Credential, text: str, asked: tuple[str, ...] = ()) -> list[str]:
    """A's strings in an answer to B, leaving out what B itself sent (a 403 page may echo its URL)."""
    for echo in asked:
        text = text.replace(echo, "")
    found = [s for s in world.private if s in text]
    if (
        cred.host != PORTAL_HOST
    ):  # A's name is public on A's own host only (its login page shows it)
        found += [s for s in world.public_names if s in text]
    return found


def _api_error_shape_ok(response) -> bool:
    try:
        body = response.json()
    except ValueError:
        return False
    return set(body) == {"error"} and set(body["error"]) == {"code", "message", "detail"}


def _judge(
    cred: Credential, route: Route, method: str, response, world: World, asked: tuple[str, ...]
) -> str | None:
    """None if the answer keeps A's object from B; else what is wrong."""
    status = response.status_code
    leaks = _leaks(world, cred, _text(response), asked)
    if leaks:
        return f"{status} with A's data {leaks[:3]}"
    view_has = route.view_methods is None or method in route.view_methods
    if status == 405 and not view_has:
        return None
    if cred.surface == "api":
        if status not in (403, 404):
            return f"{status} (want 403/404)"
        if not _api_error_shape_ok(response):
            return f"{status} without the API's error shape"
        return None
    # Portal pages: 404 (not yours), 403 (role), 405 (a POST-only action asked with GET), or a
    # redirect: to the login page (a session of another host), or back to the page with an error
    # message for actions (never a success message).
    if status in (403, 404) or (status == 405 and method == "get"):
        return None
    if status == 302:
        location = response["Location"]
        if "/login/" in location:
            return None
        if method != "get":
            from django.contrib.messages import SUCCESS

            storage = getattr(response.wsgi_request, "_messages", None)
            succeeded = [m.message for m in (storage or []) if m.level == SUCCESS]
            return f"302 with a success message {succeeded}" if succeeded else None
    return f"{status} (want 403/404 or a redirect without success)"


def test_no_credential_of_another_tenant_reaches_an_object_by_id(
    acme_world, globex_credentials, tenant, other_tenant, stripe_client, capsys
):
    from django_tenants.utils import tenant_context

    from notifications.models import Notification

    world = acme_world
    # Tenant schemas number their rows separately: B must have no notification with A's id, or a 404
    # here would prove nothing (and a 200 would be B's own).
    with tenant_context(other_tenant):
        assert not Notification.objects.filter(pk__in=world.objects["notification"]).exists()

    before = acme_state(tenant, stripe_client, world)
    routes = id_routes()
    failures, cases, shape = [], 0, {"routes": set(), "objects": set(), "credentials": set()}
    for route in routes:
        for cred in globex_credentials:
            if cred.surface != route.surface:
                continue
            methods = (
                ("get", "post")
                if route.view_methods is None
                else ("get",) + tuple(m for m in route.view_methods if m in MUTATING)
            )
            # A route with two ids (an endpoint's delivery): A's ids of the last one, the others A's
            # first of their kind.
            *outer, param = route.params
            fixed = {p: world.objects[PARAM_KINDS[p]][0] for p in outer}
            for object_id in world.objects[PARAM_KINDS[param]]:
                url = route.url(**fixed, **{param: object_id})
                for method in methods:
                    body = (
                        BODIES.get(route.template.rstrip("/").rsplit("/", 1)[-1], {})
                        if method != "get"
                        else None
                    )
                    problem = _judge(
                        cred,
                        route,
                        method,
                        _request(cred, method, url, body),
                        world,
                        (url, object_id),
                    )
                    cases += 1
                    shape["routes"].add(route.template)
                    shape["objects"].add(object_id)
                    shape["credentials"].add(cred.name)
                    if problem:
                        failures.append(f"{cred.name}: {method.upper()} {url} -> {problem}")
    after = acme_state(tenant, stripe_client, world)

    with capsys.disabled():
        kinds = {PARAM_KINDS[p] for r in routes for p in r.params}
        print(  # noqa: T201 (the figure the test measured, for the report)
            f"\nisolation matrix (by id): {len(shape['routes'])} routes x {len(shape['objects'])} objects "
            f"({len(kinds)} kinds) x {len(shape['credentials'])} credentials -> {cases} requests "
            f"(each route with its kind's objects, GET + its mutating methods), {len(failures)} failures"
        )
    assert not failures, "A's objects reached by B:\n" + "\n".join(failures)
    assert after == before, "B's requests changed A's objects"


def test_no_list_shows_another_tenants_data(acme_world, globex_credentials, capsys):
    world = acme_world
    failures, cases = [], 0
    routes = list_routes()
    for route in routes:
        for cred in globex_credentials:
            if cred.surface != route.surface:
                continue
            if cred.staff and route.template == "api/v1/tenants":
                continue  # platform staff list every tenant by design (their X-Tenant-ID scopes tenant data only)
            url = route.url()
            response = cred.client.get(url)
            cases += 1
            leaks = _leaks(world, cred, _text(response))
            if leaks:
                failures.append(
                    f"{cred.name}: GET {url} -> {response.status_code} shows {leaks[:3]}"
                )
            elif response.status_code >= 500:
                failures.append(f"{cred.name}: GET {url} -> {response.status_code}")
    # The body search finds ids only in what is answered: B's lists must answer (200), so an error
    # page cannot pass for isolation.
    owner, portal = globex_credentials[0], globex_credentials[9]
    assert (owner.name, portal.name) == ("owner (JWT)", "owner session on globex host")
    for url in (
        "/api/v1/invoices",
        "/api/v1/payment-methods",
        "/api/v1/api-keys",
        "/api/v1/notifications",
        "/api/v1/usage/events",
    ):
        response = owner.client.get(url)
        assert response.status_code == 200 and isinstance(response.json(), list), (
            url,
            response.content,
        )
    for url in ("/", "/invoices/", "/payment-methods/", "/notifications/", "/team/", "/api-keys/"):
        assert portal.client.get(url).status_code == 200, url
    with capsys.disabled():
        print(  # noqa: T201 (the figure the test measured, for the report)
            f"\nisolation matrix (lists): {len(routes)} list routes x credentials -> {cases} requests, "
            f"{len(failures)} failures"
        )
    assert not failures, "\n".join(failures)


def test_admin_is_closed_to_tenant_people(tenant, other_owner, owner):
    """The admin is skipped in the matrix: tenant people (even A's own owner) get its login page for
    A's objects, never the change form."""
    from django.test import Client

    from tenants.models import Membership
    from tenants.services import api_key_create

    membership = Membership.objects.filter(tenant=tenant).values_list("id", flat=True).first()
    api_key = api_key_create(tenant=tenant, name="acme-admin-probe", role="owner")[0].id
    for user in (other_owner, owner):
        client = Client()
        client.force_login(user)
        for url in (
            f"/admin/tenants/membership/{membership}/change/",
            f"/admin/tenants/apikey/{api_key}/change/",
            "/admin/tenants/membership/",
        ):
            response = client.get(url)
            assert response.status_code == 302 and "/admin/login/" in response["Location"], (
                user,
                url,
            )
    assert Membership.objects.filter(pk=membership).exists()


@pytest.mark.parametrize(
    "headers", [{"HTTP_AUTHORIZATION": "Bearer not-a-token"}, {"HTTP_X_API_KEY": "bk_nope"}]
)
def test_docs_and_schema_ignore_credentials(db, headers):
    """The docs are public: a bad or foreign credential sent along (a browser extension, a shared
    Swagger session) is not a 500 while the page renders."""
    client = new_client()
    client.credentials(**headers)
    for url in ("/docs", "/api/schema/"):
        assert client.get(url).status_code == 200, url
