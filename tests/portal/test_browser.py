"""The portal in a real browser: Playwright driving Debian's headless Chromium against a live server.

The first tests' live server runs in another thread with its own database connection, so it sees
only committed rows: the session tenants (acme, globex) and their people, committed once for the
whole session. What that flow creates is committed too, and removed again at the end.

The billing flow (test_an_owner_pays_through_the_portal) needs far more state: a subscription in
the Stripe emulator, its invoice and PDF, a coupon, dj-stripe's mirror. Its live server shares the
test's connection instead, inside the transaction rolled back at the end (see
live_portal_in_test_transaction).
"""

import os
import re
import threading
import uuid
from pathlib import Path

import pytest
from django.core.servers.basehttp import WSGIServer

from tests.conftest import DEMO_PASSWORD
from tests.invoicing.conftest import celery_eager, media, stripe_on  # noqa: F401 (fixtures)

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--headless",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM),
        reason=f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium; .ci/run does)",
    ),
]


@pytest.fixture(scope="module")
def chromium():
    playwright_api = pytest.importorskip(
        "playwright.sync_api", reason="pip package playwright is not installed"
    )
    # Playwright's sync API keeps an event loop running in this thread, which Django takes for an
    # async context and refuses database access in; the ORM calls here are plain sync code.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with playwright_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield browser
            browser.close()


class OneThreadServer(WSGIServer):
    """Serves requests one at a time in the live server's thread, closing each connection after its
    response. Django's threaded server keeps a thread, and its database connection, per kept-alive
    browser connection, which outlives the test and stops the test database from being dropped."""

    def __init__(self, *args, connections_override=None, **kwargs):
        super().__init__(*args, **kwargs)


@pytest.fixture
def transactional_db(django_db_setup):
    """Stands in for pytest-django's fixture of this name in this module. Asking for a fixture so named
    makes pytest-django create the test database even when only browser tests run; the real one would
    also flush every public table after each test (see live_portal)."""


@pytest.fixture
def live_portal(transactional_db, django_db_blocker):
    """pytest-django's LiveServer, without the `live_server` fixture's transactional_db: that one
    flushes every public table after the test, which would take the session tenants (and the plans
    and groups of the data migrations) from every test that runs after it."""
    from pytest_django.live_server_helper import LiveServer

    with django_db_blocker.unblock():
        server = LiveServer("localhost", start=False)
        server.thread.server_class = OneThreadServer
        server.start()
        yield server
        server.stop()


@pytest.fixture
def portal_url(live_portal):
    """portal_url(slug, path) -> the URL of a tenant's portal page on the live server."""
    port = live_portal.url.rsplit(":", 1)[1]
    return lambda slug, path="/": f"http://{slug}.localhost:{port}{path}"


@pytest.fixture
def page(chromium):
    context = chromium.new_context(viewport={"width": 1200, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.requested_urls = []
    page.on("request", lambda request: page.requested_urls.append(request.url))
    yield page
    context.close()


@pytest.fixture
def created_by_the_flow(live_portal):
    """Names the flow will create; its rows are deleted afterwards, since the live server committed them."""
    from django.db import connections
    from django.utils import timezone

    from tenants.models import ApiKey, AuditEvent, User

    suffix = uuid.uuid4().hex[:8]
    names = {"email": f"browser-{suffix}@acme.test", "key": f"browser key {suffix}"}
    started = timezone.now()
    yield names
    keys = ApiKey.objects.filter(name=names["key"])
    AuditEvent.objects.filter(
        created__gte=started, target__in=[names["email"], *keys.values_list("prefix", flat=True)]
    ).delete()
    keys.delete()
    User.objects.filter(email=names["email"]).delete()
    # With Playwright's event loop running, Django keeps this thread's connection in a context
    # variable that the session's teardown does not see; left open, it stops the test database
    # from being dropped.
    connections.close_all()


def shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def sign_in(page, url: str, email: str) -> None:
    page.goto(url)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_an_owner_uses_the_portal(page, portal_url, created_by_the_flow):
    sign_in(page, portal_url("acme"), "owner@acme.test")
    shot(page, "01-dashboard")
    assert page.url == portal_url("acme", "/")
    assert page.get_by_role("heading", level=1).inner_text() == "Acme Corp"
    assert page.get_by_text("Signed in as owner@acme.test (Owner)").is_visible()
    assert page.locator("dl.facts dd").first.inner_text() == "Free"  # acme has no subscription
    assert page.get_by_label("api_calls", exact=True).get_attribute(
        "max"
    )  # a usage bar against the plan's limit

    page.get_by_role("link", name="Plans").click()
    assert page.get_by_role("heading", name="Starter").is_visible()
    assert page.get_by_text("$29.00 a month").is_visible()
    shot(page, "02-plans")

    page.get_by_role("link", name="Coupon").click()
    page.get_by_label("Coupon code").fill("NO-SUCH-CODE")
    page.get_by_role("button", name="Apply").click()
    assert page.get_by_role("alert").get_by_text("No such coupon.").is_visible()
    shot(page, "02-coupon-error")

    page.get_by_role("link", name="Notifications").click()
    assert (
        page.get_by_role("group", name="Payment failed").get_by_label("Email").is_checked()
    )  # the default
    shot(page, "02-notifications")

    page.get_by_role("link", name="Team").click()
    page.get_by_label("Email").fill(created_by_the_flow["email"])
    page.get_by_label("Role").select_option("viewer")
    page.get_by_role("button", name="Invite").click()
    assert page.get_by_text(f"{created_by_the_flow['email']} was added to the team.").is_visible()
    shot(page, "03-team")
    page.get_by_role("button", name=f"Remove {created_by_the_flow['email']}").click()
    assert page.get_by_text(
        f"{created_by_the_flow['email']} was removed from the team."
    ).is_visible()

    page.get_by_role("link", name="API keys").click()
    page.get_by_label("Name").fill(created_by_the_flow["key"])
    page.get_by_label("Role").select_option("ingest")
    page.get_by_role("button", name="Create key").click()
    secret = page.get_by_label("Secret key").input_value()
    assert secret.startswith("bk_")
    shot(page, "04-api-key-created")
    page.reload()
    assert page.get_by_label("Secret key").count() == 0  # shown once
    page.get_by_role("button", name=f"Revoke {created_by_the_flow['key']}").click()
    assert page.get_by_text(f"The key {created_by_the_flow['key']} was revoked.").is_visible()

    page.get_by_role("link", name="Dashboard").click()
    page.get_by_label("Language").select_option("pt-br")
    page.get_by_role("button", name="Change").click()
    assert page.locator("html").get_attribute("lang") == "pt-br"
    assert page.get_by_role("link", name="Painel").is_visible()
    assert page.get_by_text("Conectado como owner@acme.test (Proprietário)").is_visible()
    shot(page, "05-dashboard-pt-br")

    origin = portal_url("acme", "")
    assert all(url.startswith(origin) for url in page.requested_urls), (
        "the portal loads nothing from elsewhere"
    )


def test_the_session_stays_on_its_tenants_host(page, portal_url):
    sign_in(page, portal_url("acme"), "owner@acme.test")
    assert page.url == portal_url("acme", "/")
    page.goto(portal_url("globex"))
    assert page.url == portal_url("globex", "/login/?next=/")
    assert page.locator("html").get_attribute("lang") == "pt-br"  # globex's locale
    shot(page, "06-globex-login-pt-br")


def test_the_portal_fits_a_phone(chromium, portal_url):
    context = chromium.new_context(
        viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    try:
        sign_in(page, portal_url("acme"), "owner@acme.test")
        for path, name in [
            ("/", "07-phone-dashboard"),
            ("/plans/", "08-phone-plans"),
            ("/team/", "09-phone-team"),
            ("/notifications/", "10-phone-notifications"),
            ("/api-keys/", "11-phone-api-keys"),
        ]:
            page.goto(portal_url("acme", path))
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"{path} is {overflow}px wider than the phone"
            shot(page, name)
    finally:
        context.close()


# The billing flow: a subscription, cards, a coupon and invoices, which live in the Stripe emulator
# and in many tables (dj-stripe's mirror, the tenant's schema, the audit log). Rather than commit all
# of that and undo it row by row, the live server shares this test's database connection, inside
# the transaction that pytest-django rolls back at the end: the server sees what the test wrote and
# nothing outlives the test.


class SharedConnectionServer(OneThreadServer):
    """OneThreadServer whose requests hold `lock`, so the test can use the shared connection between
    two requests (`with server.lock:`) and never during one. What a request leaves for after commit
    (cache invalidation, tasks, notifications) runs at its end, as the commit would run it."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.lock = threading.Lock()

    def process_request(self, request, client_address):
        from django.db import connections

        with self.lock:
            connection = connections["default"]
            pending = len(connection.run_on_commit)
            try:
                super().process_request(request, client_address)
            finally:
                callbacks = connection.run_on_commit[pending:]
                del connection.run_on_commit[pending:]
                for _savepoints, callback, _robust in callbacks:
                    callback()


@pytest.fixture
def live_portal_in_test_transaction(db, monkeypatch):
    from django.db import connections
    from pytest_django.live_server_helper import LiveServer

    connection = connections[
        "default"
    ]  # the wrapper itself, not django.db.connection's proxy to it
    # Django closes a connection found outside autocommit at the start and end of every request,
    # which here would end the test's transaction; the connection is closed by the test run instead.
    monkeypatch.setattr(connection, "close_if_unusable_or_obsolete", lambda: None)
    monkeypatch.setattr(connection, "close", lambda: None)
    server = LiveServer("localhost", start=False)
    server.thread.server_class = SharedConnectionServer
    server.thread.connections_override = {"default": connection}
    server.start()
    yield server
    server.stop()


@pytest.fixture
def billing_tenant(stripe_on, stripe_client, django_capture_on_commit_callbacks):  # noqa: F811 (a pytest fixture imported above)
    """A new tenant, Initrode, with an owner; on Starter (monthly, Visa) in the emulator on a test
    clock; its first invoice handed to invoicing (PDF rendered); 1234 api_calls used; and a coupon
    WELCOME20 that exists."""
    from coupons.services import coupon_create
    from subscriptions.selectors import plan_catalog_invalidate
    from subscriptions.services.catalog import plan_sync_all_to_stripe
    from subscriptions.services.subscriptions import subscription_create
    from tenants.services import tenant_create
    from tests.invoicing.conftest import Billing
    from tests.usage.conftest import event
    from usage.services import usage_event_ingest

    tenant = tenant_create(
        name="Initrode",
        slug="initrode",
        email="billing@initrode.test",
        owner_email="owner@initrode.test",
        owner_password=DEMO_PASSWORD,
    )
    plan_sync_all_to_stripe()
    subscription_create(tenant=tenant, plan_id="starter", payment_method="pm_card_visa")
    Billing(stripe_client, django_capture_on_commit_callbacks).dispatch()
    usage_event_ingest(tenant=tenant, data=event(quantity="1234"))
    coupon_create(code="WELCOME20", name="Welcome", percent_off=20, duration="once")
    yield tenant
    plan_catalog_invalidate()  # the cached public catalog holds this test's Stripe price ids
    _forget_usage_counters(tenant)


def _forget_usage_counters(tenant) -> None:
    """Ingest counts in Redis, which the test's rollback does not reach."""
    from billing_project.redis import get_redis

    client = get_redis()
    keys = list(client.scan_iter(match=f"*:{tenant.schema_name}:usage:*", count=1000))
    if keys:
        client.delete(*keys)


def test_an_owner_pays_through_the_portal(page, live_portal_in_test_transaction, billing_tenant):
    from playwright.sync_api import expect

    from portal.templatetags.portal import money
    from subscriptions.services.subscriptions import subscription_preview_change

    server = live_portal_in_test_transaction.thread.httpd
    port = live_portal_in_test_transaction.url.rsplit(":", 1)[1]
    url = lambda path="/": f"http://initrode.localhost:{port}{path}"  # noqa: E731

    # Log in; the dashboard shows the plan, the usage bar against its limit and the usage chart.
    sign_in(page, url(), "owner@initrode.test")
    expect(page.get_by_role("heading", level=1)).to_have_text("Initrode")
    expect(page.locator("dl.facts dd").first).to_have_text("Starter")
    expect(page.get_by_label("api_calls", exact=True)).to_have_attribute("max", "10000")
    expect(page.get_by_text("1,234 of 10,000 requests (12%)")).to_be_visible()
    chart = page.get_by_role(
        "img", name=re.compile(r"^api_calls from .*: 1,234 of 10,000 requests so far\.$")
    )
    expect(chart).to_be_visible()
    assert chart.locator("polyline.line").count() == 1 and chart.locator("line.limit").count() == 1
    shot(page, "20-billing-dashboard")

    # Change plan: the preview shows what is due now (Stripe's proration), then confirm.
    with server.lock:
        preview = subscription_preview_change(tenant=billing_tenant, plan_id="professional")
    assert preview["amount_due_now"] > 0
    page.get_by_role("link", name="Plans").click()
    page.get_by_role("link", name="Change to Professional").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Change to Professional")
    expect(page.locator("#amount-due-now")).to_have_text(
        money(preview["amount_due_now"], preview["currency"])
    )
    shot(page, "21-plan-change-preview")
    page.get_by_role("button", name="Confirm the change").click()
    expect(page.get_by_text("Your plan is now Professional.")).to_be_visible()
    expect(page.get_by_role("heading", name="Professional current")).to_be_visible()
    shot(page, "22-plan-changed")
    # The plan change's commit dropped the tenant's cached limits: the dashboard shows the new ones.
    page.get_by_role("link", name="Dashboard").click()
    expect(page.locator("dl.facts dd").first).to_have_text("Professional")
    expect(
        page.get_by_text("1,234 of 100,000 requests (1%)")
    ).to_be_visible()  # Professional's limit

    # Add a card with the emulator's test cards (a SetupIntent, then the card attached).
    page.get_by_role("link", name="Payment methods").click()
    expect(page.get_by_role("cell", name="Visa ending in 4242", exact=True)).to_be_visible()
    page.get_by_label("Test card").select_option("pm_card_mastercard")
    page.get_by_label("Make it the default card").check()
    page.get_by_role("button", name="Add card").click()
    expect(page.get_by_text("Mastercard ending in 4444 was added.")).to_be_visible()
    row = page.get_by_role("row").filter(has_text="Mastercard ending in 4444")
    expect(row.get_by_role("cell", name="Default", exact=True)).to_be_visible()
    shot(page, "23-payment-methods")

    # Apply a coupon to the subscription.
    page.get_by_role("link", name="Coupon").click()
    page.get_by_label("Coupon code").fill("welcome20")
    page.get_by_role("button", name="Apply").click()
    expect(
        page.get_by_text("WELCOME20 applied to your subscription: 20% off, once.")
    ).to_be_visible()
    shot(page, "24-coupon-applied")

    # Invoices: open the first one and download its PDF.
    page.get_by_role("link", name="Invoices").click()
    expect(page.get_by_text("$29.00").first).to_be_visible()
    shot(page, "25-invoices")
    page.locator("tbody td:first-child a").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Invoice")
    shot(page, "26-invoice-detail")
    link = page.get_by_role("link", name="Download PDF")
    with page.expect_download() as download_info:
        link.click()
    download = download_info.value
    assert download.suggested_filename.endswith(".pdf")
    assert Path(download.path()).read_bytes().startswith(b"%PDF")
    # The same link fetched by the page (Playwright's own request context cannot resolve *.localhost).
    fetched = page.evaluate(
        """async (href) => {
        const response = await fetch(href);
        const head = new Uint8Array(await response.arrayBuffer()).slice(0, 4);
        return {status: response.status, type: response.headers.get("content-type"),
                head: String.fromCharCode(...head)};
    }""",
        link.get_attribute("href"),
    )
    assert fetched == {"status": 200, "type": "application/pdf", "head": "%PDF"}

    # Switch to Portuguese.
    page.get_by_role("link", name="Dashboard").click()
    page.get_by_label("Language").select_option("pt-br")
    page.get_by_role("button", name="Change").click()
    expect(page.locator("html")).to_have_attribute("lang", "pt-br")
    expect(page.get_by_role("link", name="Painel")).to_be_visible()
    expect(page.get_by_role("heading", name="Uso ao longo do período")).to_be_visible()
    expect(
        page.get_by_role("img", name=re.compile(r"1\.234 de 100\.000 requests até agora"))
    ).to_be_visible()
    shot(page, "27-dashboard-pt-br")

    page.set_viewport_size({"width": 360, "height": 740})  # the charts shrink to a phone's width
    page.reload()
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    shot(page, "28-phone-dashboard-chart")

    assert all(u.startswith(url("")) for u in page.requested_urls), (
        "the portal loads nothing from elsewhere"
    )


def test_usage_bars_take_the_colour_of_their_status(page, portal_url):
    """An exceeded resource's bar is red and a resource past its first alert threshold amber, as
    their figures are: <meter>'s own colours kept an exceeded bar green (its value clamped to max)."""
    import io

    from PIL import Image

    from tenants.models import Tenant
    from tests.usage.conftest import event
    from usage.services import usage_event_ingest

    acme = Tenant.objects.get(slug="acme")
    usage_event_ingest(tenant=acme, data=event(quantity="1500"))  # of 1,000: exceeded
    usage_event_ingest(tenant=acme, data=event(resource_type="storage_gb", quantity="0.9"))  # 90%
    sign_in(page, portal_url("acme"), "owner@acme.test")

    def bar_colour(resource: str) -> tuple[int, int, int]:
        """The colour inside the bar's filled part (it fills from the left)."""
        image = Image.open(io.BytesIO(page.get_by_label(resource, exact=True).screenshot()))
        width, height = image.size
        return image.convert("RGB").getpixel((width // 10, height // 2))

    red, green, blue = bar_colour("api_calls")
    assert red > 150 and green < 80 and blue < 80, (red, green, blue)  # --danger #b42318
    red, green, blue = bar_colour("storage_gb")
    assert red > 180 and 80 < green < 160 and blue < 60, (red, green, blue)  # --warn-bar #d97706


def test_the_budget_forms_checkbox_sits_beside_its_label_above_the_button(page, portal_url):
    """The hard-cap checkbox rendered after its label and before the Save button, on the button's
    line: it read as an option of the button. It sits on its label's line, the button below."""
    sign_in(page, portal_url("acme"), "owner@acme.test")
    page.goto(portal_url("acme") + "budget/")
    checkbox = page.get_by_label("Stop usage when the budget is reached (hard cap)").bounding_box()
    label = page.locator("label[for=id_hard_cap]").bounding_box()
    button = page.get_by_role("button", name="Save").bounding_box()
    middle = checkbox["y"] + checkbox["height"] / 2
    assert label["y"] <= middle <= label["y"] + label["height"], (checkbox, label)
    assert checkbox["x"] < label["x"], (checkbox, label)
    assert button["y"] >= checkbox["y"] + checkbox["height"], (checkbox, button)
